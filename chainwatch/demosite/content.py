"""Load the demo sites and articles from a content folder (YAML files)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chainwatch.demosite.models import CHINA_TZ, Article, FeedSpec, Section, SitemapSpec, SiteSpec

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONTENT_DIR = PACKAGE_DIR / "data"


class ContentError(ValueError):
    """The content folder is malformed; the message names the file and the item."""


@dataclass(frozen=True)
class Content:
    sites: tuple[SiteSpec, ...]
    articles: dict[str, tuple[Article, ...]]  # by site key, newest first
    faults: dict[str, Any]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def parse_published(value: Any) -> dt.datetime:
    """`2026-11-03`, `2026-11-03 09:30` or a YAML date/datetime; naive means China time.

    A bare date means 08:00 China time, so the day is the same in China and in UTC.
    """
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day, 8, 0)
    else:
        text = str(value).strip()
        stamp = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.datetime.fromisoformat(text + "T08:00")
    return stamp.replace(tzinfo=CHINA_TZ) if stamp.tzinfo is None else stamp.astimezone(CHINA_TZ)


def _site(raw: dict[str, Any]) -> SiteSpec:
    feed = raw.get("feed")
    sitemap = raw.get("sitemap")
    encoding = raw.get("encoding", "utf-8")
    return SiteSpec(
        key=raw["key"],
        name=raw["name"],
        lang=raw.get("lang", "zh"),
        encoding=encoding,
        declared_charset=raw.get("declared_charset", encoding),
        charset_header=bool(raw.get("charset_header", True)),
        region_code=str(raw["region_code"]) if raw.get("region_code") else None,
        layout=raw["layout"],
        server=raw.get("server", "nginx"),
        article_path=raw["article_path"],
        home_size=int(raw.get("home_size", 10)),
        sections=tuple(Section(**s) for s in raw["sections"]),
        feed=FeedSpec(**feed) if feed else None,
        sitemap=SitemapSpec(**sitemap) if sitemap else None,
        robots=raw.get("robots"),
        trap=raw.get("trap"),
        info=dict(raw.get("info") or {}),
    )


def article_path(pattern: str, *, id: str, slug: str, section: str, published: dt.datetime) -> str:
    return pattern.format(
        id=id,
        slug=slug,
        section=section,
        yyyy=f"{published.year:04d}",
        mm=f"{published.month:02d}",
        dd=f"{published.day:02d}",
        yyyymm=published.strftime("%Y%m"),
        yyyymmdd=published.strftime("%Y%m%d"),
    )


_ARTICLE_KEYS = {"id", "title", "published", "section", "body", "source", "author", "editor", "slug", "kind",
                 "regions", "duplicate_of", "path"}


def _article(site: SiteSpec, raw: dict[str, Any]) -> Article:
    published = parse_published(raw["published"])
    section = raw.get("section") or site.sections[0].key
    site.section(section)  # must exist
    art_id = str(raw["id"])
    slug = raw.get("slug", "")
    paragraphs = tuple(p.strip() for p in str(raw["body"]).split("\n\n") if p.strip())
    path = raw.get("path") or article_path(site.article_path, id=art_id, slug=slug, section=section,
                                           published=published)
    return Article(
        site=site.key,
        id=art_id,
        title=str(raw["title"]).strip(),
        published=published,
        section=section,
        paragraphs=paragraphs,
        path=path,
        source=raw.get("source", ""),
        author=raw.get("author", ""),
        editor=raw.get("editor", ""),
        slug=slug,
        kind=raw.get("kind", ""),
        regions=tuple(str(r) for r in raw.get("regions") or ()),
        duplicate_of=raw.get("duplicate_of"),
        extra={k: v for k, v in raw.items() if k not in _ARTICLE_KEYS},
    )


def load_content(content_dir: Path | None = None) -> Content:
    """Read `sites.yaml`, `articles/<site key>.yaml` and `faults.yaml` from the folder."""
    root = Path(content_dir) if content_dir else DEFAULT_CONTENT_DIR
    raw_sites = _read_yaml(root / "sites.yaml") or {}
    sites: list[SiteSpec] = []
    articles: dict[str, tuple[Article, ...]] = {}
    for raw in raw_sites.get("sites", []):
        try:
            site = _site(raw)
        except (KeyError, TypeError) as exc:
            raise ContentError(f"{root / 'sites.yaml'}: site {raw.get('key')!r}: {exc!r}") from exc
        path = root / "articles" / f"{site.key}.yaml"
        items = _read_yaml(path) if path.exists() else []
        loaded = []
        for item in items or []:
            try:
                loaded.append(_article(site, item))
            except (KeyError, TypeError, ValueError) as exc:
                raise ContentError(f"{path}: article {item.get('id')!r}: {exc!r}") from exc
        paths = [a.path for a in loaded]
        if len(set(paths)) != len(paths):
            raise ContentError(f"{path}: two articles share a path")
        sites.append(site)
        articles[site.key] = tuple(sorted(loaded, key=lambda a: (a.published, a.id), reverse=True))
    faults_path = root / "faults.yaml"
    if not faults_path.exists():
        faults_path = DEFAULT_CONTENT_DIR / "faults.yaml"
    faults = _read_yaml(faults_path) or {}
    keys = [s.key for s in sites]
    if len(set(keys)) != len(keys):
        raise ContentError(f"{root / 'sites.yaml'}: duplicate site keys")
    return Content(sites=tuple(sites), articles=articles, faults=faults)
