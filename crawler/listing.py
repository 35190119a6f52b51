"""Reading listing pages of sites without feeds: which links are articles, where the next page is.

Most Chinese government sites have neither a feed nor a sitemap; their news lives
in listing pages (工作动态, 通知公告) with a title, a date beside each link and a
pager (首页 上一页 下一页 尾页, ``index_1.html``). This module scores links by URL
shape, anchor text and nearby dates, and finds the pager, with rules from
``data/listing_rules.yaml``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import yaml

from crawler.urls import same_site

RULES_FILE = Path(__file__).with_name("data") / "listing_rules.yaml"

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_DIGITS = re.compile(r"\d+")
_DATE_IN_PATH = re.compile(r"(?:19|20)\d{2}[-_/]?(?:0[1-9]|1[0-2])(?:[-_/]?(?:0[1-9]|[12]\d|3[01]))?")
_ID_IN_PATH = re.compile(r"\d{4,}")
_SLUG = re.compile(r"/[a-z0-9]+(?:-[a-z0-9]+){2,}/?$", re.I)
_DATE_TEXT = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"|\b(\d{1,2})[-/.](\d{1,2})\b(?![-/.]\d)"
)
_MONTH_DAY_EN = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2}),?\s+((?:19|20)\d{2})\b", re.I)
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_CREATE_PAGE = re.compile(r"createPage(?:HTML)?\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]")
_BLOCKS = frozenset({"li", "tr", "dd", "dt", "p", "div", "article", "section", "span", "td"})
_STRIP = re.compile(r"[\s\[\]【】()（）<>《》|·:：]+")


@dataclass(frozen=True)
class Rules:
    article_threshold: float
    next_texts: frozenset[str]
    last_texts: frozenset[str]
    nav_texts: frozenset[str]
    listing_paths: tuple[re.Pattern[str], ...]
    never_paths: tuple[re.Pattern[str], ...]
    ignored_schemes: tuple[str, ...]
    feed_paths: tuple[str, ...]
    sitemap_paths: tuple[str, ...]
    section_hints: tuple[str, ...]


@cache
def rules() -> Rules:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))

    def fold(texts: list[str]) -> frozenset[str]:
        return frozenset(_STRIP.sub("", str(t)).lower() for t in texts)

    return Rules(
        article_threshold=float(data["article_threshold"]),
        next_texts=fold(data["next_page_texts"]) | frozenset({">", "›", "»", ">>"}),
        last_texts=fold(data["last_page_texts"]),
        nav_texts=fold(data["nav_texts"]),
        listing_paths=tuple(re.compile(p, re.I) for p in data["listing_path_patterns"]),
        never_paths=tuple(re.compile(p, re.I) for p in data["never_path_patterns"]),
        ignored_schemes=tuple(data["ignored_schemes"]),
        feed_paths=tuple(data["feed_paths"]),
        sitemap_paths=tuple(data["sitemap_paths"]),
        section_hints=tuple(data["section_hints"]),
    )


@dataclass
class Link:
    url: str
    text: str
    title: str | None = None
    date: date | None = None
    score: float = 0.0
    shape: str = ""


@dataclass
class ListingPage:
    articles: list[Link] = field(default_factory=list)
    next_url: str | None = None
    last_url: str | None = None
    sections: list[Link] = field(default_factory=list)  # short same-site links that may be section pages
    feeds: list[str] = field(default_factory=list)      # <link rel=alternate> feeds


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")


def parse_document(html: str) -> Any:
    # lxml refuses str input that starts with an XML declaration naming an encoding (XHTML pages)
    html = _XML_DECL.sub("", html or "", count=1)
    try:
        return lxml.html.document_fromstring(html or "<html></html>")
    except (ValueError, lxml.etree.ParserError):
        return lxml.html.document_fromstring("<html></html>")


def _web_url(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``, fragment dropped; None unless it is a fetchable
    http(s) URL (hostile pages link "http://[broken", ports out of range, javascript: ...)."""
    try:
        url = urljoin(base, href).split("#")[0]
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def find_date(text: str) -> date | None:
    """The first full date in a short text (list item, table row)."""
    for m in _DATE_TEXT.finditer(text):
        if m.group(1):
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    m = _MONTH_DAY_EN.search(text)
    if m:
        try:
            return date(int(m.group(3)), _MONTHS[m.group(1)[:3].lower()], int(m.group(2)))
        except ValueError:
            return None
    return None


def url_shape(url: str) -> str:
    path = urlsplit(url).path
    path = _SLUG.sub("/<slug>", path)
    return _DIGITS.sub("9", path)


def _fold(text: str) -> str:
    return _STRIP.sub("", text).lower()


def score_link(url: str, text: str, has_date: bool, r: Rules) -> float:
    path = urlsplit(url).path
    if any(p.search(path) for p in r.listing_paths + r.never_paths):
        return -5.0
    score = 0.0
    if _DATE_IN_PATH.search(path):
        score += 2.0
    if _ID_IN_PATH.search(path):
        score += 1.0
    if _SLUG.search(path):
        score += 1.5
    if path.count("/") >= 2:
        score += 0.5
    if path in ("", "/"):
        score -= 5.0
    folded = _fold(text)
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if folded in r.nav_texts:
        score -= 5.0
    elif cjk >= 8 or words >= 5:
        score += 1.5
    elif cjk >= 5 or words >= 3:
        score += 0.5
    elif cjk + words <= 3:
        score -= 2.0
    if has_date:
        score += 1.5
    return score


def _context_text(a: Any) -> str:
    """Text of the smallest enclosing list item, row or block that holds this one link."""
    node = a.getparent()
    for _ in range(4):
        if node is None:
            break
        if node.tag in _BLOCKS and len(node.findall(".//a")) <= 2:
            text = node.text_content()
            if len(text) <= 300:
                if node.tag not in ("span", "td"):
                    return text
                # a date often sits in the next cell or span of the same row
                parent = node.getparent()
                if parent is not None and len(parent.findall(".//a")) <= 2:
                    return parent.text_content()[:300]
                return text
        node = node.getparent()
    return a.text_content()


def analyse_listing(html: str, page_url: str, site_url: str | None = None,
                    allow: list[str] | None = None, deny: list[str] | None = None) -> ListingPage:
    """Article links, the next page and section candidates of one listing or home page."""
    r = rules()
    doc = parse_document(html)
    site = site_url or page_url
    base = doc.xpath("//base/@href")
    base_url = (_web_url(page_url, base[0]) if base else None) or page_url
    allow_re = [re.compile(p) for p in allow or []]
    deny_re = [re.compile(p) for p in deny or []]
    out = ListingPage()
    for link in doc.xpath("//link[@rel='alternate'][@href]"):
        kind = (link.get("type") or "").lower()
        feed_url = _web_url(base_url, link.get("href"))
        if ("rss" in kind or "atom" in kind) and feed_url:
            out.feeds.append(feed_url)
    links: dict[str, Link] = {}
    page_canon = page_url.split("#")[0]
    for a in doc.xpath("//a[@href]"):
        href = (a.get("href") or "").strip()
        if not href or href.lower().startswith(r.ignored_schemes):
            continue
        url = _web_url(base_url, href)
        if url is None or url == page_canon:
            continue
        text = " ".join(a.text_content().split())
        title = a.get("title")
        folded = _fold(text)
        if folded in r.next_texts or (a.get("rel") or "").lower() == "next":
            if same_site(url, site) and out.next_url is None:
                out.next_url = url
            continue
        if folded in r.last_texts:
            if same_site(url, site):
                out.last_url = url
            continue
        if not same_site(url, site):
            continue
        if deny_re and any(p.search(url) for p in deny_re):
            continue
        context = _context_text(a)
        when = find_date(context)
        label = title if title and len(title) > len(text) else text
        score = score_link(url, label, when is not None, r)
        if allow_re and any(p.search(url) for p in allow_re):
            score = max(score, r.article_threshold)
        prev = links.get(url)
        if prev is None or score > prev.score:
            links[url] = Link(url=url, text=label, title=title, date=when or (prev.date if prev else None),
                              score=score, shape=url_shape(url))
    _reinforce_shapes(links, r)
    out.articles = [ln for ln in links.values() if ln.score >= r.article_threshold]
    out.sections = [ln for ln in links.values() if ln.score < r.article_threshold and _looks_like_section(ln, r)]
    if out.next_url is None:
        out.next_url = _scripted_next_page(html, page_url)
    return out


def _reinforce_shapes(links: dict[str, Link], r: Rules) -> None:
    """Links sharing a URL shape with several clear articles are articles too (and vice versa)."""
    groups: dict[str, list[Link]] = defaultdict(list)
    for ln in links.values():
        groups[ln.shape].append(ln)
    for members in groups.values():
        if len(members) < 3:
            continue
        strong = sum(1 for m in members if m.score >= r.article_threshold)
        if strong >= max(2, len(members) // 2):
            for m in members:
                if m.score > 0 and len(_fold(m.text)) >= 4:
                    m.score = max(m.score, r.article_threshold)


def _looks_like_section(ln: Link, r: Rules) -> bool:
    folded = _fold(ln.text)
    if not folded or folded in r.nav_texts or len(folded) > 12:
        return False
    return not any(p.search(urlsplit(ln.url).path) for p in r.never_paths)


def _scripted_next_page(html: str, page_url: str) -> str | None:
    """Government CMS pagers written by script: createPageHTML(total, current, "index", "html")."""
    m = _CREATE_PAGE.search(html)
    if not m:
        return None
    total, current, stem, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    if current + 1 >= total:
        return None
    return urljoin(page_url, f"{stem}_{current + 1}.{ext}")
