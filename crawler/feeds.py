"""Feeds and sitemaps: parse what a site publishes about its own articles."""

from __future__ import annotations

import calendar
import gzip
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import feedparser
from scrapy.utils.sitemap import Sitemap


@dataclass(frozen=True)
class Entry:
    url: str
    title: str | None = None
    date: date | None = None


def _entry_date(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC).date()
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def parse_feed(body: bytes) -> list[Entry] | None:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom feed, or None when the body is not a feed."""
    parsed = feedparser.parse(body)
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        return None
    out = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        out.append(Entry(url=link.strip(), title=(entry.get("title") or "").strip() or None, date=_entry_date(entry)))
    return out


@dataclass(frozen=True)
class SitemapContent:
    kind: str  # urlset | sitemapindex
    entries: list[Entry]


def parse_sitemap(body: bytes) -> SitemapContent | None:
    """URLs of a sitemap or the child sitemaps of a sitemap index, or None when it is not one."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)[: 50 * 1024 * 1024]
        except OSError:
            return None
    try:
        sm = Sitemap(body)
    except Exception:  # lxml raises several types on garbage
        return None
    if sm.type not in ("urlset", "sitemapindex"):
        return None
    entries = []
    for item in sm:
        loc = (item.get("loc") or "").strip()
        if not loc:
            continue
        lastmod = item.get("lastmod")
        when = None
        if lastmod:
            try:
                when = date.fromisoformat(lastmod.strip()[:10])
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
