"""Discovery: how to crawl a site known only by its home page URL.

Looks for feeds (``<link rel=alternate>``, common paths), sitemaps (robots.txt
``Sitemap:`` lines, ``/sitemap.xml``, sitemap indexes) and listing pages (the home
page and the section pages it links that hold article links), then fetches a few
articles and extracts them so a person can judge the result before saving.
``scrapy crawl discover -a url=https://example.gov.cn/`` runs it alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler import feeds, listing
from crawler.encoding import decode_html
from crawler.urls import same_site
from spiders.news import classify_failure

log = logging.getLogger(__name__)

MAX_SECTIONS = 12
SAMPLE_COUNT = 3
MIN_LISTING_ARTICLES = 3


@dataclass
class DiscoveryReport:
    url: str
    final_url: str | None = None
    site_name: str | None = None
    language: str | None = None
    strategy: str | None = None  # feed | sitemap | listing | None (nothing found)
    feed_url: str | None = None
    sitemap_url: str | None = None
    listing_urls: list[str] = field(default_factory=list)
    links_found: list[str] = field(default_factory=list)
    pagination: dict[str, str] = field(default_factory=dict)  # listing url -> next page url
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DiscoverySpider(scrapy.Spider):
    name = "discover"

    def __init__(self, url: str = "", feed_url: str | None = None, sitemap_url: str | None = None,
                 listing_urls: str | list[str] | None = None, encoding: str | None = None,
                 allow: list[str] | None = None, deny: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not url:
            raise ValueError("discover needs -a url=HOME_PAGE_URL")
        self.home = url
        self.encoding = encoding
        self.allow = list(allow or [])
        self.deny = list(deny or [])
        if isinstance(listing_urls, str):
            listing_urls = [u for u in listing_urls.split(",") if u]
        self.report = DiscoveryReport(url=url, feed_url=feed_url, sitemap_url=sitemap_url,
                                      listing_urls=list(listing_urls or []))
        self.fixed = {"feed": bool(feed_url), "sitemap": bool(sitemap_url), "listing": bool(listing_urls)}
        self.feed_entries: list[feeds.Entry] = []
        self.sitemap_entries: list[feeds.Entry] = []
        self.listing_counts: dict[str, int] = {}
        self.listing_links: dict[str, listing.Link] = {}
        self.listing_sets: dict[str, frozenset[str]] = {}
        self.samples_requested = False

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DiscoverySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    def probe(self, url: str, callback: Any, **meta: Any) -> Request:
        return Request(url, callback=callback, errback=self.on_probe_error, dont_filter=False,
                       meta={"handle_httpstatus_all": True, "dont_retry": True, "cache": True, **meta})

    async def start(self) -> AsyncIterator[Request]:
        yield Request(self.home, callback=self.parse_home, errback=self.on_home_error, priority=20,
                      meta={"cache": True})
        rules = listing.rules()
        if self.report.feed_url:
            yield self.probe(self.report.feed_url, self.parse_feed)
        else:
            for path in rules.feed_paths:
                yield self.probe(urljoin(self.home, path), self.parse_feed)
        if self.report.sitemap_url:
            yield self.probe(self.report.sitemap_url, self.parse_sitemap)
        else:
            for path in rules.sitemap_paths:
                yield self.probe(urljoin(self.home, path), self.parse_sitemap)
        for url in self.report.listing_urls:
            yield self.probe(url, self.parse_section)

    # ------------------------------------------------------------------ callbacks
    def _html(self, response: Response) -> str | None:
        if not isinstance(response, TextResponse) or response.status != 200:
            return None
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        return decode_html(response.body, ctype, self.encoding)[0]

    def parse_home(self, response: Response) -> Any:
        self.report.final_url = response.url
        html = self._html(response)
        if html is None:
            self.report.errors.append(f"the home page answered HTTP {response.status} "
                                      f"({response.headers.get(b'Content-Type', b'').decode('latin-1')})")
            return
        doc = listing.parse_document(html)
        title = " ".join(doc.xpath("string(//title)").split())
        self.report.site_name = title or None
        from crawler.textnorm import detect_language

        self.report.language = detect_language(" ".join(doc.xpath("string(//body)").split())[:5000])
        page = listing.analyse_listing(html, response.url, self.home, self.allow, self.deny)
        # robots.txt is in the HTTP cache by now (Scrapy fetched it before the home page): no refetch
        yield self.probe(urljoin(self.home, "/robots.txt"), self.parse_robots, dont_obey_robotstxt=True)
        for feed_url in page.feeds:
            if not self.fixed["feed"]:
                yield self.probe(feed_url, self.parse_feed, declared=True)
        self._note_listing(response.url, page)
        if self.fixed["listing"]:
            return
        sections = sorted(page.sections, key=lambda ln: -_section_rank(ln))[:MAX_SECTIONS]
        for ln in sections:
            yield self.probe(ln.url, self.parse_section)

    def parse_section(self, response: Response) -> None:
        html = self._html(response)
        if html is None or not same_site(response.url, self.home):
            return
        page = listing.analyse_listing(html, response.url, self.home, self.allow, self.deny)
        self._note_listing(response.url, page)

    def _note_listing(self, url: str, page: listing.ListingPage) -> None:
        for ln in page.articles:
            self.listing_links.setdefault(ln.url, ln)
        is_home = url.rstrip("/") == (self.report.final_url or self.home).rstrip("/")
        if len(page.articles) >= MIN_LISTING_ARTICLES or (is_home and page.articles):
            # a young site's home page with one or two articles is still its listing
            self.listing_counts[url] = len(page.articles)
            self.listing_sets[url] = frozenset(ln.url for ln in page.articles)
            if page.next_url:
                self.report.pagination[url] = page.next_url

    def parse_robots(self, response: Response) -> Any:
        if response.status != 200:
            return
        for url in feeds.sitemaps_from_robots(response.body):
            if not self.fixed["sitemap"]:
                yield self.probe(url, self.parse_sitemap, declared=True)

    def parse_feed(self, response: Response) -> None:
        if response.status != 200:
            return
        entries = feeds.parse_feed(response.body, response.url)
        if entries is None:
            if response.meta.get("declared") or self.fixed["feed"]:
                self.report.errors.append(f"{response.url} is linked as a feed but is not RSS or Atom")
            return
        entries = [e for e in entries if same_site(e.url, self.home)]
        if entries and (not self.feed_entries or len(entries) > len(self.feed_entries)):
            self.report.feed_url = response.request.url if response.request else response.url
            self.feed_entries = entries

    def parse_sitemap(self, response: Response) -> Any:
        if response.status != 200:
            return
        content = feeds.parse_sitemap(response.body)
        if content is None:
            if response.meta.get("declared") or self.fixed["sitemap"]:
                self.report.errors.append(f"{response.url} is named as a sitemap but is not sitemap XML")
            return
        if content.kind == "sitemapindex":
            if not self.report.sitemap_url:
                self.report.sitemap_url = response.url
            for child in content.entries[:3]:
                yield self.probe(child.url, self.parse_sitemap, child=True)
            return
        entries = [e for e in content.entries if same_site(e.url, self.home)]
        if entries:
            if not self.report.sitemap_url:
                self.report.sitemap_url = response.url
            self.sitemap_entries.extend(entries)

    def on_probe_error(self, failure: Failure) -> None:
        log.debug("probe failed: %s", failure.request.url)  # type: ignore[attr-defined]

    def on_home_error(self, failure: Failure) -> None:
        _kind, _transient, message = classify_failure(failure)
        self.report.errors.append(f"the home page could not be fetched: {message}")

    # ------------------------------------------------------------------ samples
    def idle(self, spider: Any) -> None:
        if self.samples_requested:
            return
        self.samples_requested = True
        self._decide()
        urls = self.report.links_found[:SAMPLE_COUNT]
        if not urls:
            return
        for url in urls:
            self.crawler.engine.crawl(Request(url, callback=self.parse_sample, errback=self.on_sample_error,
                                              dont_filter=True, meta={"sample": True}))
        raise DontCloseSpider

    def _decide(self) -> None:
        r = self.report
        if not self.fixed["listing"]:
            r.listing_urls = self._choose_listings()
        links: list[str] = []
        for entry in self.feed_entries + sorted(self.sitemap_entries, key=lambda e: str(e.date or ""),
                                                 reverse=True):
            links.append(entry.url)
        links.extend(sorted(self.listing_links, key=lambda u: str(self.listing_links[u].date or ""),
                            reverse=True))
        r.links_found = list(dict.fromkeys(links))
        if self.feed_entries:
            r.strategy = "feed"
        elif self.sitemap_entries:
            r.strategy = "sitemap"
        elif r.listing_urls:
            r.strategy = "listing"
        else:
            r.strategy = None
            if not r.errors:
                r.errors.append("no feed, sitemap or listing page with article links was found; "
                                "give --listing-url or --feed-url")
        if not self.sitemap_entries and not self.fixed["sitemap"]:
            r.sitemap_url = None  # an index whose children list nothing of this site

    def _choose_listings(self) -> list[str]:
        """Listing pages worth crawling: not a later page of another one's pager, and not a
        page whose articles another (paginated or larger) listing already covers."""
        later_pages = set(self.report.pagination.values())
        candidates = [u for u in self.listing_counts if u not in later_pages]
        # paginated listings first, then by size, so duplicates views of them are dropped
        candidates.sort(key=lambda u: (u not in self.report.pagination, -self.listing_counts[u]))
        chosen: list[str] = []
        for url in candidates:
            links = self.listing_sets[url]
            if url in self.report.pagination or not any(links <= self.listing_sets[c] for c in chosen):
                chosen.append(url)
        for url in list(self.report.pagination):
            if url not in chosen:
                del self.report.pagination[url]
        return chosen[:MAX_SECTIONS]

    def parse_sample(self, response: Response) -> None:
        from crawler.items import PageItem
        from crawler.pipelines import NotAnArticle, build_record

        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        item = PageItem(source_id=0, source_key="", url=response.url, final_url=response.url, body=response.body,
                        content_type=ctype, encoding_override=self.encoding)
        try:
            record = build_record(item)
        except NotAnArticle as exc:
            self.report.samples.append({"url": response.url, "error": str(exc), "permanent": True})
            return
        text = record.text
        self.report.samples.append({
            "url": response.url, "title": record.title,
            "date": record.published.isoformat() if record.published else None,
            "length": len(text), "language": record.language,
            "first_lines": [line for line in text.splitlines() if line.strip()][:3],
        })

    def on_sample_error(self, failure: Failure) -> None:
        _kind, _transient, message = classify_failure(failure)
        self.report.samples.append({"url": failure.request.url, "error": message})  # type: ignore[attr-defined]


def _section_rank(ln: listing.Link) -> int:
    """Listing-shaped URLs and section-like names first."""
    r = listing.rules()
    rank = sum(1 for h in r.section_hints if h.lower() in ln.text.lower())
    if any(p.search(urlsplit(ln.url).path) for p in r.listing_paths):
        rank += 2
    return rank
