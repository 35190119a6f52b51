"""Plain data types of the demo web: what a site and an article are once loaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True)
class SiteInfo:
    """What a caller needs to add a demo site as a crawl source."""

    key: str
    name: str
    url: str  # home page, with a trailing slash
    lang: str
    feed_url: str | None
    sitemap_url: str | None
    encoding: str
    region_code: str | None


@dataclass(frozen=True)
class Section:
    """A listing: its first page lives at `first`, page i>0 at `page` with n = start + i - 1."""

    key: str
    title: str
    first: str
    page: str
    start: int = 2
    size: int = 10

    def page_path(self, index: int) -> str:
        return self.first if index == 0 else self.page.format(n=self.start + index - 1)


@dataclass(frozen=True)
class FeedSpec:
    path: str
    format: str  # "rss" or "atom"
    size: int = 20


@dataclass(frozen=True)
class SitemapSpec:
    path: str
    child: str | None = None  # set: `path` is a sitemap index pointing at `child`


@dataclass(frozen=True)
class SiteSpec:
    key: str
    name: str
    lang: str
    encoding: str  # bytes on the wire
    declared_charset: str  # what the page says it is
    charset_header: bool  # name the charset in Content-Type too
    region_code: str | None
    layout: str
    server: str
    article_path: str
    home_size: int
    sections: tuple[Section, ...]
    feed: FeedSpec | None
    sitemap: SitemapSpec | None
    robots: str | None
    trap: str | None
    info: dict[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"site {self.key}: no section {key!r}")


@dataclass(frozen=True)
class Article:
    site: str
    id: str
    title: str
    published: dt.datetime  # aware, China time
    section: str
    paragraphs: tuple[str, ...]
    path: str
    source: str = ""
    author: str = ""
    editor: str = ""
    slug: str = ""
    kind: str = ""
    regions: tuple[str, ...] = ()
    duplicate_of: str | None = None  # "site:id" of the story this one reposts
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def date(self) -> dt.date:
        return self.published.date()

    @property
    def ref(self) -> str:
        return f"{self.site}:{self.id}"


@dataclass(frozen=True)
class ArticleInfo:
    """A visible article as a test or the demo sees it (ground truth of the fixture)."""

    site: str
    id: str
    url: str
    title: str
    published: dt.datetime
    kind: str
    regions: tuple[str, ...]
    duplicate_of: str | None  # absolute URL of the original, when this is a repost
    alliances: tuple[dict[str, str], ...] = ()  # {name, region, date} of alliances founded in the story
