"""Feeds and sitemaps: parse what a site publishes about its own articles."""

from __future__ import annotations

import calendar
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from scrapy.utils.sitemap import Sitemap


@dataclass(frozen=True)
class Entry:
    url: str
    title: str | None = None
    date: date | None = None


MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # inflated; the protocol's own limit


def _sane(when: date | None) -> date | None:
    """A publication date, or None for the year-1 and year-9999 dates broken feeds carry."""
    if when is None or not date(1970, 1, 1) <= when <= date.today() + timedelta(days=366):
        return None
    return when


def _web_url(link: str, base_url: str | None) -> str | None:
    """An absolute http(s) URL for an entry's link (relative links resolved against the feed's
    own URL), or None for javascript:, mailto:, broken and host-less links."""
    if not link.strip():
        return None  # urljoin would make an entry without a link point at the feed itself
    try:
        url = urljoin(base_url or "", link.strip())
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _entry_date(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = _sane(datetime.fromtimestamp(calendar.timegm(value), UTC).date())
            except (OverflowError, ValueError, TypeError, OSError):
                continue
            if when:
                return when
    return None


def parse_feed(body: bytes, base_url: str | None = None) -> list[Entry] | None:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom feed, or None when the body is not a feed.
    Relative entry links are resolved against ``base_url`` (the feed's URL); entries without an
    http(s) link are left out."""
    try:
        parsed = feedparser.parse(body)
    except Exception:  # feedparser's own bugs on garbage (e.g. &#xD800; in a title): not a feed
        return None
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        return None
    out = []
    for entry in parsed.entries:
        url = _web_url(entry.get("link") or "", base_url)
        if not url:
            continue
        out.append(Entry(url=url, title=(entry.get("title") or "").strip() or None, date=_entry_date(entry)))
    return out


@dataclass(frozen=True)
class SitemapContent:
    kind: str  # urlset | sitemapindex
    entries: list[Entry]


def parse_sitemap(body: bytes) -> SitemapContent | None:
    """URLs of a sitemap or the child sitemaps of a sitemap index, or None when it is not one."""
    if body[:2] == b"\x1f\x8b":
        # Bounded: a few MB of .xml.gz can inflate to gigabytes (a gzip bomb).
        try:
            body = zlib.decompressobj(wbits=47).decompress(body, MAX_SITEMAP_BYTES)
        except zlib.error:
            return None
    try:
        sm = Sitemap(body)
    except Exception:  # lxml raises several types on garbage
        return None
    if sm.type not in ("urlset", "sitemapindex"):
        return None
    entries = []
    for item in sm:
        loc = _web_url(item.get("loc") or "", None)  # the protocol wants absolute URLs
        if not loc:
            continue
        lastmod = item.get("lastmod")
        when = None
        if lastmod:
            try:
                when = _sane(date.fromisoformat(lastmod.strip()[:10]))
            except ValueError:
                when = None
        entries.append(Entry(url=loc, date=when))
    return SitemapContent(kind=sm.type, entries=entries)


def sitemaps_from_robots(body: bytes) -> list[str]:
    out = []
    for line in body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            out.append(value.strip())
    return out
