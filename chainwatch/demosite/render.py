"""Render one site's pages for a given `now` into memory (a SiteState the server swaps in whole)."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from chainwatch.demosite.faults import Fault, FaultPlan, plan_faults
from chainwatch.demosite.models import Article, Section, SiteSpec
from chainwatch.demosite.pages import Page, encode_html, make_page

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
CN_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class SiteState:
    """Everything a site answers at one `now`: pages by path, fault routes by path, the 404 page."""

    pages: dict[str, Page]
    faults: dict[str, Fault]
    not_found: Page
    visible: tuple[Article, ...]
    fault_paths: dict[str, str] = field(default_factory=dict)


def make_env(content_dir: Path | None = None) -> jinja2.Environment:
    """Templates from `content_dir/templates` first (when it exists), then the packaged ones."""
    loaders: list[jinja2.BaseLoader] = []
    if content_dir is not None and (Path(content_dir) / "templates").is_dir():
        loaders.append(jinja2.FileSystemLoader(str(Path(content_dir) / "templates")))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATE_DIR)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        strftime=lambda value, fmt: value.strftime(fmt),
        cn_date=lambda value: f"{value.year}年{value.month:02d}月{value.day:02d}日",
        cn_weekday=lambda value: "星期" + CN_WEEKDAYS[value.weekday()],
        en_date=lambda value: f"{EN_MONTHS[value.month - 1]} {value.day}, {value.year}",
        rfc822=lambda value: email.utils.format_datetime(value),
        iso=lambda value: value.isoformat(),
        html_paragraphs=lambda paragraphs: "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs),
    )
    return env


def _related(visible: list[Article], article: Article, count: int = 5) -> list[Article]:
    index = visible.index(article)
    others = [a for a in visible if a is not article]
    return sorted(others, key=lambda a: (abs(visible.index(a) - index), a.published))[:count]


class SiteRenderer:
    def __init__(self, env: jinja2.Environment, site: SiteSpec, articles: tuple[Article, ...], base_url: str,
                 fault_texts: dict[str, Any]) -> None:
        self.env = env
        self.site = site
        self.articles = articles  # newest first
        self.base_url = base_url
        self.fault_texts = fault_texts
        charset = site.declared_charset
        self.html_type = f"text/html; charset={charset}" if site.charset_header else "text/html"

    # --- views handed to templates -------------------------------------------------------------
    def abs_url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def site_view(self, visible: tuple[Article, ...]) -> dict[str, Any]:
        site = self.site
        today = visible[0].published if visible else None
        return {
            "key": site.key, "name": site.name, "lang": site.lang, "charset": site.declared_charset,
            "url": self.base_url, "home_url": self.base_url,
            "feed_url": self.abs_url(site.feed.path) if site.feed else None,
            "feed_path": site.feed.path if site.feed else None,
            "feed_format": site.feed.format if site.feed else None,
            "sitemap_url": self.abs_url(site.sitemap.path) if site.sitemap else None,
            "trap_url": site.trap, "today": today, "info": site.info,
            "sections": [{"key": s.key, "title": s.title, "url": s.first, "abs_url": self.abs_url(s.first)}
                         for s in site.sections],
        }

    def article_view(self, article: Article) -> dict[str, Any]:
        section = self.site.section(article.section)
        first = article.paragraphs[0] if article.paragraphs else ""
        return {
            **article.extra,
            "id": article.id, "title": article.title, "published": article.published,
            "date": article.date.isoformat(), "url": article.path, "abs_url": self.abs_url(article.path),
            "paragraphs": list(article.paragraphs), "summary": first if len(first) <= 120 else first[:118] + "……",
            "source": article.source or self.site.name, "author": article.author, "editor": article.editor,
            "slug": article.slug, "section": section.key, "section_title": section.title,
            "section_url": section.first, "tags": article.extra.get("tags", []),
        }

    # --- rendering ---------------------------------------------------------------------------
    def _html(self, names: list[str], **context: Any) -> str:
        return self.env.select_template(names).render(**context)

    def _html_page(self, names: list[str], last_modified: dt.datetime | None = None, **context: Any) -> Page:
        text = self._html(names, **context)
        return make_page(encode_html(text, self.site.encoding), self.html_type, last_modified)

    def _tpl(self, name: str) -> list[str]:
        return [f"{self.site.layout}/{name}", f"common/{name}"]

    def build(self, now: dt.date | None, faults: bool) -> SiteState:
        site = self.site
        visible = tuple(a for a in self.articles if now is None or a.date <= now)
        views = {a.path: self.article_view(a) for a in visible}
        site_view = self.site_view(visible)
        pages: dict[str, Page] = {}
        common = {"site": site_view}

        ordered = list(visible)
        for article in visible:
            same = [a for a in ordered if a.section == article.section]
            pos = same.index(article)
            pages[article.path] = self._html_page(
                self._tpl("article.html"), article.published, **common, article=views[article.path],
                related=[views[a.path] for a in _related(ordered, article)],
                newer=views[same[pos - 1].path] if pos > 0 else None,
                older=views[same[pos + 1].path] if pos + 1 < len(same) else None,
                hot=[views[a.path] for a in ordered[:8]],
            )

        plan = FaultPlan()
        if faults:
            article_tpl = self._tpl("article.html")
            plan = plan_faults(site, self.base_url, visible, pages, self.fault_texts,
                               lambda view: self._html(article_tpl, **common, article=view, related=[], hot=[],
                                                       newer=None, older=None), self.html_type)

        latest = [views[a.path] for a in visible[: site.home_size]]
        by_section = {s.key: [views[a.path] for a in visible if a.section == s.key][:6] for s in site.sections}
        home = self._html_page(self._tpl("home.html"), **common, latest=plan.links + latest, by_section=by_section,
                               hot=latest[:8])
        pages["/"] = home
        pages.setdefault("/index.html", home)

        for number, section in enumerate(site.sections):
            members = [views[a.path] for a in visible if a.section == section.key]
            self._listing(pages, common, section, members, plan.links if number == 0 else [], latest[:8])

        self._machine_files(pages, visible, views)
        if site.trap:
            pages[site.trap] = self._html_page(self._tpl("private.html"), **common)
        css = self._source(f"{site.layout}/style.css")
        if css is not None:
            pages[site.info.get("css", "/static/style.css")] = make_page(css.encode("utf-8"), "text/css")
        not_found = self._html_page(self._tpl("404.html"), **common, hot=latest[:8])
        return SiteState(pages=pages, faults=plan.routes, not_found=not_found, visible=visible,
                         fault_paths=plan.paths)

    def _source(self, name: str) -> str | None:
        """A static file kept next to the templates, verbatim."""
        try:
            return self.env.loader.get_source(self.env, name)[0] if self.env.loader else None
        except jinja2.TemplateNotFound:
            return None

    def _listing(self, pages: dict[str, Page], common: dict[str, Any], section: Section,
                 members: list[dict[str, Any]], fault_links: list[dict[str, Any]], hot: list[dict[str, Any]]) -> None:
        num_pages = max(1, math.ceil(len(members) / section.size))
        urls = [section.page_path(i) for i in range(num_pages)]
        for i in range(num_pages):
            items = members[i * section.size:(i + 1) * section.size]
            page = self._html_page(
                self._tpl("list.html"), **common, hot=hot,
                section={"key": section.key, "title": section.title, "url": section.first},
                articles=(fault_links if i == 0 else []) + items, page=i + 1, num_pages=num_pages, total=len(members),
                page_urls=urls, first_url=urls[0], last_url=urls[-1],
                prev_url=urls[i - 1] if i > 0 else None, next_url=urls[i + 1] if i + 1 < num_pages else None,
            )
            pages[urls[i]] = page
            if i == 0 and urls[0].endswith("/index.html"):
                pages.setdefault(urls[0][: -len("index.html")], page)
            elif i == 0 and urls[0].endswith("/"):
                pages.setdefault(urls[0] + "index.html", page)

    def _machine_files(self, pages: dict[str, Page], visible: tuple[Article, ...],
                       views: dict[str, dict[str, Any]]) -> None:
        """Feed, sitemap(s) and robots.txt."""
        site = self.site
        site_view = self.site_view(visible)
        items = [views[a.path] for a in visible]
        updated = visible[0].published if visible else None
        if site.feed:
            fmt = site.feed.format
            text = self.env.get_template(f"feeds/{fmt}.xml").render(
                site=site_view, items=items[: site.feed.size], updated=updated, feed_url=self.abs_url(site.feed.path))
            ctype = "application/atom+xml; charset=UTF-8" if fmt == "atom" else "application/rss+xml; charset=utf-8"
            pages[site.feed.path] = make_page(encode_html(text, site.encoding), ctype)
        if site.sitemap:
            urlset = self.env.get_template("feeds/sitemap.xml").render(
                site=site_view, items=items, updated=updated, with_home=site.sitemap.child is None)
            if site.sitemap.child:
                index = self.env.get_template("feeds/sitemap_index.xml").render(
                    children=[{"loc": self.abs_url(site.sitemap.child), "lastmod": updated}])
                pages[site.sitemap.path] = make_page(index.encode("utf-8"), "application/xml; charset=UTF-8")
                pages[site.sitemap.child] = make_page(urlset.encode("utf-8"), "application/xml; charset=UTF-8")
            else:
                pages[site.sitemap.path] = make_page(urlset.encode("utf-8"), "application/xml; charset=utf-8")
        if site.robots is not None:
            text = site.robots.replace("{sitemap_url}", site_view["sitemap_url"] or "")
            pages["/robots.txt"] = make_page(text.encode("utf-8"), "text/plain; charset=utf-8")
