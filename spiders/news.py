"""The one news spider: every enabled source, by its feed, sitemap and listing pages.

``scrapy crawl news`` crawls all enabled sources; ``-a source=KEY[,KEY]`` picks some.
Incremental: stored article URLs are never requested again, feeds, sitemaps and
listing pages are revalidated through the HTTP cache (ETag, Last-Modified), and a
listing's pagination stops at the first page that links nothing new.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from sqlalchemy import select
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from chainwatch.archive import known_urls
from chainwatch.crawling import sources_left_unfinished
from crawler import feeds, listing
from crawler.encoding import decode_html
from crawler.items import PageItem
from crawler.resources import resources
from crawler.urls import canonical_url, same_site
from storage.models import CrawlRunSource, Source, UrlState
from storage.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSpec:
    """What the spider needs of a source, detached from the database session."""

    id: int
    key: str
    home_url: str
    feed_url: str | None
    sitemap_url: str | None
    listing_urls: tuple[str, ...]
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    encoding: str | None
    max_pages: int | None
    language: str | None
    region_code: str | None

    @classmethod
    def of(cls, s: Source) -> SourceSpec:
        return cls(id=s.id, key=s.key, home_url=s.home_url, feed_url=s.feed_url, sitemap_url=s.sitemap_url,
                   listing_urls=tuple(s.listing_urls or [s.home_url]), allow=tuple(s.allow_patterns or []),
                   deny=tuple(s.deny_patterns or []), encoding=s.encoding, max_pages=s.max_pages,
                   language=s.language, region_code=s.region_code)

    def accepts(self, url: str) -> bool:
        if not same_site(url, self.home_url):
            return False
        if self.deny and any(re.search(p, url) for p in self.deny):
            return False
        return not self.allow or any(re.search(p, url) for p in self.allow)


@dataclass
class CrawlLog:
    """What the run learned that the extension records at the end: errors and page states."""

    errors: list[tuple[int | None, str, str, str]] = field(default_factory=list)  # source, url, kind, message
    url_states: list[tuple[int, str, str, str]] = field(default_factory=list)  # source, url, status, reason
    failed_sources: set[int] = field(default_factory=set)


class NewsSpider(scrapy.Spider):
    name = "news"
    max_sitemap_urls = 2000  # newest first; a first crawl of a huge sitemap stays bounded

    def __init__(self, source: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_keys = [k.strip() for k in source.split(",")] if source else None
        self.sources: dict[int, SourceSpec] = {}
        self.crawl_log = CrawlLog()
        self.seeded = False
        # sources whose last crawl did not finish: page through their listings even past known pages
        self.resume: set[int] = set()

    # ---------------------------------------------------------------- start
    def load_sources(self) -> list[SourceSpec]:
        def query(session: Any) -> list[SourceSpec]:
            stmt = select(Source).where(Source.enabled.is_(True)).order_by(Source.id)
            if self.source_keys:
                stmt = select(Source).where(Source.key.in_(self.source_keys)).order_by(Source.id)
            return [SourceSpec.of(s) for s in session.scalars(stmt)]

        return resources(self.crawler).db.run(query)

    def load_retries(self) -> list[tuple[int, str]]:
        budget = self.settings.getint("CHAINWATCH_RETRY_BUDGET", 3)
        ids = list(self.sources)

        def query(session: Any) -> list[tuple[int, str]]:
            rows = session.execute(select(UrlState.source_id, UrlState.url).where(
                UrlState.status == "failed", UrlState.attempts < budget, UrlState.source_id.in_(ids)))
            return [(r[0], r[1]) for r in rows]

        return resources(self.crawler).db.run(query)

    def unfinished_sources(self, source_ids: list[int]) -> set[int]:
        own = self.settings.getint("CHAINWATCH_RUN_ID", 0) or getattr(self, "run_id", None) or 0
        return resources(self.crawler).db.run(lambda s: sources_left_unfinished(s, source_ids, own))

    def record_sources(self, source_ids: list[int]) -> None:
        """This run's sources, recorded as it starts (with zero figures until it ends)."""
        run_id = getattr(self, "run_id", None)
        if not run_id or not source_ids:
            return

        def work(session: Any) -> None:
            session.add_all(CrawlRunSource(run_id=run_id, source_id=sid) for sid in source_ids)

        resources(self.crawler).db.run(work)

    async def start(self) -> AsyncIterator[Any]:
        res = resources(self.crawler)
        specs = await res.in_db(self.load_sources)
        self.resume = await res.in_db(self.unfinished_sources, [s.id for s in specs])
        await res.in_db(self.record_sources, [s.id for s in specs])
        if self.source_keys:
            missing = set(self.source_keys) - {s.key for s in specs}
            if missing:
                log.error("unknown source key(s): %s", ", ".join(sorted(missing)))
        self.sources.update((s.id, s) for s in specs)
        if not specs:
            log.warning("no enabled sources to crawl; add one with: chainwatch sources add URL")
        for source_id, url in await res.in_db(self.load_retries):
            yield self.article_request(self.sources[source_id], url, None, None)
        for spec in specs:
            for request in self.entry_requests(spec):
                yield request
        self.seeded = True  # a distributed worker stops counting itself busy with seeding

    def entry_requests(self, spec: SourceSpec) -> Iterable[Request]:
        meta = {"source_id": spec.id, "cache": True}
        if spec.feed_url:
            yield Request(spec.feed_url, callback=self.parse_feed, errback=self.on_error, meta=dict(meta),
                          priority=10)
        if spec.sitemap_url:
            yield Request(spec.sitemap_url, callback=self.parse_sitemap, errback=self.on_error,
                          meta=dict(meta), priority=10)
        for url in spec.listing_urls:
            yield Request(url, callback=self.parse_listing, errback=self.on_error,
                          meta={**meta, "page_no": 1, "section": url}, priority=5)

    # ---------------------------------------------------------------- entry points
    def source_of(self, response: Response | Request) -> SourceSpec:
        spec = self.spec(response.meta["source_id"])
        if spec is None:
            raise KeyError(f"source {response.meta['source_id']} no longer exists")
        return spec

    def spec(self, source_id: int | None) -> SourceSpec | None:
        """The source a request belongs to. A distributed worker pops requests that other workers
        queued, possibly before its own start() has loaded the sources: load it then."""
        if source_id is None:
            return None
        spec = self.sources.get(source_id)
        if spec is None:
            def query(session: Any) -> SourceSpec | None:
                row = session.get(Source, source_id)
                return SourceSpec.of(row) if row is not None else None

            spec = resources(self.crawler).db.run(query)
            if spec is not None:
                self.sources[source_id] = spec
        return spec

    def count(self, spec: SourceSpec, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"chainwatch/{key}", n)
        self.crawler.stats.inc_value(f"chainwatch/source/{spec.key}/{key}", n)

    def fetched(self, response: Response) -> bool:
        """Count the page: fetched, or answered from the HTTP cache (unchanged, 304)."""
        spec = self.source_of(response)
        self.count(spec, "not_modified" if "cached" in response.flags else "pages")
        return True

    async def parse_feed(self, response: Response) -> AsyncIterator[Any]:
        if not self.fetched(response):
            return
        spec = self.source_of(response)
        entries = feeds.parse_feed(response.body, response.url)
        if entries is None:
            self.record_error(spec, response.url, "bad_feed", "the feed is not RSS or Atom XML")
            return
        async for request in self.new_article_requests(spec, entries):
            yield request

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        if not self.fetched(response):
            return
        spec = self.source_of(response)
        content = feeds.parse_sitemap(response.body)
        if content is None:
            self.record_error(spec, response.url, "bad_sitemap", "the sitemap is not sitemap XML")
            return
        if content.kind == "sitemapindex":
            children = sorted(content.entries, key=lambda e: e.date or date.min, reverse=True)
            for child in children[:50]:
                yield Request(child.url, callback=self.parse_sitemap, errback=self.on_error,
                              meta={"source_id": spec.id, "cache": True})
            return
        entries = sorted(content.entries, key=lambda e: e.date or date.min, reverse=True)
        async for request in self.new_article_requests(spec, entries[: self.max_sitemap_urls]):
            yield request

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        if not self.fetched(response):
            return
        spec = self.source_of(response)
        if not isinstance(response, TextResponse):
            self.record_error(spec, response.url, "not_html", "listing page is not HTML")
            return
        html, _ = decode_html(response.body, _content_type(response), spec.encoding)
        page = listing.analyse_listing(html, response.url, spec.home_url, list(spec.allow), list(spec.deny))
        entries = [feeds.Entry(url=ln.url, title=ln.text, date=ln.date) for ln in page.articles]
        new = 0
        async for request in self.new_article_requests(spec, entries):
            new += 1
            yield request
        page_no = response.meta.get("page_no", 1)
        limit = spec.max_pages or self.settings.getint("CHAINWATCH_MAX_PAGES", 20)
        if page.next_url and (new or spec.id in self.resume) and page_no < limit:
            yield Request(page.next_url, callback=self.parse_listing, errback=self.on_error,
                          meta={"source_id": spec.id, "cache": True, "page_no": page_no + 1,
                                "section": response.meta.get("section")})
        elif page.next_url and not new:
            log.debug("%s: page %d of %s links nothing new; stopping there", spec.key, page_no,
                      response.meta.get("section"))

    async def new_article_requests(self, spec: SourceSpec, entries: list[feeds.Entry]) -> AsyncIterator[Request]:
        """Requests for the entries not yet stored (nor known to be non-articles)."""
        candidates: dict[str, feeds.Entry] = {}
        for entry in entries:
            if spec.accepts(entry.url):
                candidates.setdefault(canonical_url(entry.url), entry)
        if not candidates:
            return
        res = resources(self.crawler)
        budget = self.settings.getint("CHAINWATCH_RETRY_BUDGET", 3)
        known = await res.in_db(res.db.run, lambda s: known_urls(s, list(candidates), budget))
        for key, entry in candidates.items():
            if key not in known:
                yield self.article_request(spec, entry.url, entry.date, entry.title)

    def article_request(self, spec: SourceSpec, url: str, when: date | None, title: str | None) -> Request:
        return Request(url, callback=self.parse_article, errback=self.on_error,
                       meta={"source_id": spec.id, "listing_date": when, "listing_title": title, "article": True})

    # ---------------------------------------------------------------- articles
    def parse_article(self, response: Response) -> Iterable[PageItem]:
        spec = self.source_of(response)
        self.count(spec, "pages")
        request_url = response.meta.get("redirect_urls", [response.url])[0]
        yield PageItem(
            source_id=spec.id, source_key=spec.key, url=request_url, final_url=response.url,
            body=response.body, content_type=_content_type(response), encoding_override=spec.encoding,
            fetched_at=utcnow(), listing_date=response.meta.get("listing_date"),
            listing_title=response.meta.get("listing_title"), source_region=spec.region_code,
            source_language=spec.language)

    # ---------------------------------------------------------------- errors
    def on_error(self, failure: Failure) -> None:
        request: Request = failure.request  # type: ignore[attr-defined]
        spec = self.spec(request.meta.get("source_id"))
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            message = str(failure.value)
            if "robots.txt" in message.lower() or not message:
                return  # forbidden by robots.txt: obeyed, not an error
            if "already stored" in message:
                return  # a redirect to an article we have: nothing to do
            lowered = message.lower()
            kind = ("redirects" if "redirect" in lowered else "too_large" if ("body" in lowered and "bytes" in lowered)
                    or "exceeds" in lowered or "maxsize" in lowered else "refused")
            transient = False
        else:
            kind, transient, message = classify_failure(failure)
        if spec is None:
            log.warning("%s: %s", request.url, message)
            return
        self.record_error(spec, request.url, kind, message)
        if request.meta.get("article"):
            self.crawl_log.url_states.append((spec.id, request.url, "failed" if transient else "skipped", kind))

    def record_error(self, spec: SourceSpec, url: str, kind: str, message: str) -> None:
        log.warning("%s: %s %s: %s", spec.key, kind, url, message)
        self.count(spec, "errors")
        self.crawl_log.errors.append((spec.id, url, kind, message[:1000]))
        self.crawl_log.failed_sources.add(spec.id)


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


def classify_failure(failure: Failure) -> tuple[str, bool, str]:
    """(kind, transient, message) for a failed request."""
    if failure.check(HttpError):
        status = failure.value.response.status
        transient = status >= 500 or status in (408, 429)
        return f"http_{status}", transient, f"HTTP {status}"
    if failure.check(DNSLookupError):
        return "dns", True, "the host name does not resolve"
    name = type(failure.value).__name__
    if failure.check(TimeoutError, TCPTimedOutError) or "timeout" in name.lower():
        return "timeout", True, f"no complete answer within the download timeout ({failure.value})"
    text = str(failure.value) or name
    lowered = text.lower()
    if "cancelled" in lowered or "Cancelled" in name:
        return "too_large", False, "the download was cut off at the size limit (an endless or oversized page)"
    if "maxsize" in lowered or "larger than" in lowered or "exceeds" in lowered:
        return "too_large", False, f"the page is larger than the download size limit ({text})"
    if "redirect" in lowered:
        return "redirects", False, text
    if "refused" in lowered or "connection" in lowered or "ResponseNeverReceived" in name:
        return "connection", True, text
    return name.lower(), True, text
