"""Item pipelines: extract → analyse → store. All async; CPU and database work run off the event loop.

Each stage is small and overridable in the way Scrapy's own pipelines are: the CPU stages name a
module-level function as a class attribute (``ExtractPipeline.extract``, ``AnalyzePipeline.analyse``),
which runs in the crawl's CPU pool, worker processes when the machine has cores to spare, so it must
be importable by name and take and return picklable values; ``StorePipeline.store`` runs in the
database thread. The real work lives in core modules that ``retag``, ``analyze`` and the tests call too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from chainwatch import dedupe
from chainwatch.archive import PageRecord, StoreResult, mark_url, store_page
from crawler.items import PageItem
from crawler.resources import Resources, resources

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
MIN_ARTICLE_CHARS = 40  # shorter bodies are link pages, stubs or error pages, not articles


class NotAnArticle(DropItem):
    """The page was fetched but holds no article; it is remembered and not fetched again."""


def published_datetime(value: str | None, fallback: date | None) -> datetime | None:
    """Extractor or listing date → aware datetime. A bare date means that day in China."""
    if value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=CHINA)
            return parsed.astimezone(UTC)
    if fallback is not None:
        return datetime.combine(fallback, time(0, 0), tzinfo=CHINA).astimezone(UTC)
    return None


def build_record(item: PageItem) -> PageRecord:
    """Decode and extract one page. Raises NotAnArticle for pages without an article."""
    from crawler.encoding import decode_html
    from crawler.extraction import extract
    from crawler.textnorm import detect_language, normalize_for_analysis

    ctype = (item.content_type or "").lower()
    if ctype and not any(t in ctype for t in ("html", "xml", "text/plain")):
        raise NotAnArticle(f"not an HTML page ({ctype.split(';')[0]})")
    if not item.body.strip():
        raise NotAnArticle("empty body")
    html, _encoding = decode_html(item.body, item.content_type, item.encoding_override)
    data = extract(html, item.final_url)
    text = (data.get("text") or "").strip()
    if len(text) < MIN_ARTICLE_CHARS:
        raise NotAnArticle(f"no article text found ({len(text)} characters)")
    title = (data.get("title") or item.listing_title or "").strip()
    if item.listing_title and title.endswith(("...", "…")) and item.listing_title.startswith(title.rstrip(".…")):
        title = item.listing_title  # the page truncates its heading; the listing had it whole
    language = data.get("language") or detect_language(text) or item.source_language
    return PageRecord(
        source_id=item.source_id, url=item.url, final_url=item.final_url, title=title, text=text,
        text_normalized=normalize_for_analysis(text), language=language,
        published=published_datetime(data.get("date"), item.listing_date),
        author=data.get("author"), fetched_at=item.fetched_at)


@dataclass
class Analysed:
    """What the analysis stage hands to the store: tags, the near-duplicate signature and the
    segmented title and body for the search index (segmenting is CPU work too)."""

    analysis: Any
    signature: dedupe.Signature
    segmented: tuple[str, str] | None = None


def analyse_record(record: PageRecord, source_region: str | None, tagging: bool = True) -> Analysed:
    """Tags, signature and search segmentation of one extracted page (runs in the CPU pool)."""
    from chainwatch.segment import segment

    sig = dedupe.signature(record.text_normalized or record.text, record.language)
    segmented = (segment(record.title or ""), segment(record.text_normalized or record.text or ""))
    if not tagging:
        sig.buckets(), sig.fact_buckets()  # cached on the signature: computed here, not in the crawl process
        return Analysed(None, sig, segmented)
    from tagging import Tagger

    published = record.published.astimezone(CHINA).date() if record.published else None
    analysis = Tagger.default().analyze(record.title, record.text_normalized, language=record.language,
                                        published=published, source_region=source_region)
    # what store_page would add and derive from the signature in the crawl process (twice, for its lookup
    # and its insert), done here once: with_topics is idempotent and the buckets are cached on the signature
    sig = sig.with_topics(analysis)
    sig.buckets(), sig.fact_buckets()
    return Analysed(analysis, sig, segmented)


def warm_up() -> None:
    """Load what the CPU stages need (tagger data, jieba's dictionary) before the first page arrives."""
    from chainwatch.segment import tokenizer
    from tagging import Tagger

    Tagger.default()
    tokenizer()


class _Stage:
    """Common plumbing: resources from the crawler, per-source stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _Stage:
        return cls(crawler)

    @property
    def res(self) -> Resources:
        return resources(self.crawler)

    def inc(self, item: PageItem, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"chainwatch/{key}", count)
        self.crawler.stats.inc_value(f"chainwatch/source/{item.source_key}/{key}", count)

    def fail(self, item: PageItem, stage: str, exc: Exception) -> DropItem:
        """Count and report a page this stage could not handle; it is remembered for the next crawl."""
        # the driver's message only: SQLAlchemy's text carries the statement and the whole article
        message = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        log.error("could not %s %s: %s", stage, item.final_url, message)
        self.inc(item, "errors")
        self.crawler.signals.send_catch_log(signal=PAGE_FAILED, item=item, error=exc, stage=stage)
        return DropItem(f"{stage} failed: {message}")


class ExtractPipeline(_Stage):
    """HTML bytes → title, date, clean body text, language, normalised text."""

    extract = staticmethod(build_record)  # PageItem -> PageRecord; raises NotAnArticle

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        try:
            item.extracted = await self.res.in_cpu(self.extract, item)
        except NotAnArticle as exc:
            self.inc(item, "not_article")
            reason = str(exc)

            def remember(session: Any) -> None:
                for url in dict.fromkeys([item.url, item.final_url]):
                    mark_url(session, url, item.source_id, "skipped", reason)

            await self.res.in_db(self.res.db.run, remember)
            raise
        except Exception as exc:  # a bug on some page, or a worker process that died
            raise self.fail(item, "extract", exc) from exc
        return item


class AnalyzePipeline(_Stage):
    """Tags (regions, chains, relevance, events), the near-duplicate signature, search segmentation."""

    analyse = staticmethod(analyse_record)  # (PageRecord, source region, tagging on) -> Analysed

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.tagging = crawler.settings.getbool("CHAINWATCH_TAGGING", True)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or item.extracted is None:
            return item
        try:
            result: Analysed = await self.res.in_cpu(self.analyse, item.extracted, item.source_region, self.tagging)
        except Exception as exc:
            raise self.fail(item, "analyse", exc) from exc
        item.analysis, item.signature = result.analysis, result.signature
        item.notes["segmented"] = result.segmented
        return item


class StorePipeline(_Stage):
    """One transaction per article; dedupe against the archive in the same transaction.

    Group commit: articles that reach this stage while the database thread is busy are written
    together in one transaction (one commit, at most ``max_batch``) when it is free again, in the
    order they arrived. An article is still written whole or not at all, and a page counts as
    stored only once its transaction has committed. If anything in a group fails, the group is
    rolled back and each of its articles is stored in a transaction of its own, so one bad article
    never takes others with it.
    """

    max_batch = 50

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._queue: list[tuple[PageItem, asyncio.Future[StoreResult]]] = []
        self._writer: asyncio.Future[None] | None = None

    def store(self, item: PageItem) -> StoreResult:
        return self.res.db.run(lambda s: _store_item(s, item))

    def store_batch(self, items: list[PageItem]) -> list[StoreResult | Exception]:
        """Store ``items`` (in the database thread): one transaction for all, or one each on failure."""
        if len(items) > 1 and type(self).store is StorePipeline.store:
            try:
                return self.res.db.run(lambda s: [_store_item(s, i) for i in items])
            except Exception as exc:
                log.debug("group of %d articles failed (%s); storing them one by one", len(items), exc)
        out: list[StoreResult | Exception] = []
        for item in items:
            try:
                out.append(self.store(item))
            except Exception as exc:
                out.append(exc)
        return out

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                results = await self.res.in_db(self.store_batch, [item for item, _ in batch])
            except Exception as exc:  # store_batch reports failures per article; this is a last resort
                results = [exc] * len(batch)
            for (_, fut), result in zip(batch, results, strict=True):
                if fut.done():
                    continue
                if isinstance(result, Exception):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or item.extracted is None:
            return item
        fut: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        try:
            result = await fut
        except Exception as exc:  # the database refused this article; the crawl goes on
            raise self.fail(item, "store", exc) from exc
        item.notes["store"] = result
        if result.status == "new":
            self.inc(item, "new")
        elif result.status == "duplicate":
            self.inc(item, "new")
            self.inc(item, "duplicates")
        else:
            self.inc(item, "already_stored")
        return item


PAGE_FAILED = object()  # signal: (item, error, stage) -- a fetched page that was not stored


def _store_item(session: Any, item: PageItem) -> StoreResult:
    return store_page(session, item.extracted, item.analysis, item.signature,
                      segmented=item.notes.get("segmented"))

