"""Extensions: the crawl-run record in the database, and progress lines for people watching."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chainwatch.archive import mark_url
from chainwatch.locks import process_alive
from crawler.resources import resources
from storage.models import CrawlError, CrawlRun, CrawlRunSource, Source
from storage.timeutil import utcnow

log = logging.getLogger(__name__)

SOURCE_KEYS = ("pages", "not_modified", "new", "duplicates", "errors")


DATABASE_FULL = "database_full"  # finish reason of a crawl stopped because the database cannot grow


def database_full(error: BaseException) -> bool:
    """SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) or an OS "no space left" behind a DB error."""
    orig = getattr(error, "orig", None) or error
    if getattr(orig, "sqlite_errorcode", None) == 13 or getattr(orig, "sqlstate", None) == "53100":
        return True
    text = str(orig).lower()
    return "database or disk is full" in text or "no space left on device" in text or "disk full" in text


class CrawlRunRecorder:
    """Creates a crawl_runs row when the spider opens and fills it (with per-source figures
    and errors) when it closes. Stops the crawl when the database is full: every further
    article would be fetched only to fail."""

    def __init__(self, crawler: Crawler) -> None:
        from crawler.pipelines import PAGE_FAILED

        self.crawler = crawler
        self.run_id: int | None = None
        self.stopping = False
        self._closing: asyncio.Future[None] | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.page_failed, signal=PAGE_FAILED)

    def page_failed(self, item: Any, error: BaseException, stage: str = "store") -> None:
        # Remember the page for the next crawl (load_retries): a listing stops paginating at a page with
        # nothing new, so an article deeper down that was fetched but not stored would never be seen again.
        spider = self.crawler.spider
        crawl_log = getattr(spider, "crawl_log", None)
        if crawl_log is not None and getattr(item, "source_id", None) is not None:
            orig = getattr(error, "orig", None) or error
            reason = f"{stage} failed: " + (str(orig).splitlines() or [type(orig).__name__])[0]
            for url in dict.fromkeys([item.url, item.final_url]):
                crawl_log.url_states.append((item.source_id, url, "failed", reason))
        if self.stopping or not database_full(error):
            return
        self.stopping = True
        orig = getattr(error, "orig", None) or error
        log.error("the database is full (%s); stopping the crawl. Free space (or raise the database's quota) and "
                  "crawl again: the articles not stored are fetched then.", str(orig).splitlines()[0])
        assert self.crawler.engine is not None
        self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=DATABASE_FULL))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        return cls(crawler)

    def _open(self, session: Session) -> int:
        given = self.crawler.settings.get("CHAINWATCH_RUN_ID")
        if given:
            run = session.get(CrawlRun, int(given))
            if run is not None:
                return run.id
        return new_run(session)

    async def spider_opened(self, spider: Any) -> None:
        res = resources(self.crawler)
        self.run_id = await res.in_db(res.db.run, self._open)
        spider.run_id = self.run_id

    def _close(self, session: Session, spider: Any, reason: str) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        run = session.get(CrawlRun, self.run_id)
        if run is None:
            return
        run.finished_at = utcnow()
        run.finish_reason = reason
        run.status = "finished" if reason == "finished" else "failed"
        run.pages_fetched = int(stats.get("chainwatch/pages", 0))
        run.new_articles = int(stats.get("chainwatch/new", 0))
        run.duplicates = int(stats.get("chainwatch/duplicates", 0))
        run.errors = int(stats.get("chainwatch/errors", 0))
        crawl_log = getattr(spider, "crawl_log", None)
        sources = getattr(spider, "sources", {})
        for source_id, spec in sources.items():
            figures = {k: int(stats.get(f"chainwatch/source/{spec.key}/{k}", 0)) for k in SOURCE_KEYS}
            session.merge(CrawlRunSource(  # the spider recorded the row with zeros as it started
                run_id=run.id, source_id=source_id, pages_fetched=figures["pages"],
                not_modified=figures["not_modified"], new_articles=figures["new"],
                duplicates=figures["duplicates"], errors=figures["errors"]))
        if sources:
            session.execute(update(Source).where(Source.id.in_(list(sources))).values(last_crawled_at=utcnow()))
        if crawl_log is None:
            return
        for source_id, url, kind, message in crawl_log.errors:
            session.add(CrawlError(run_id=run.id, source_id=source_id, url=url[:2000], kind=kind, message=message))
        for source_id, url, status, why in crawl_log.url_states:
            mark_url(session, url, source_id, status, why)

    def _mark_failed(self, session: Session, reason: str) -> None:
        """The least a run's end needs (an in-place update): when the full record cannot be written."""
        session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(
            status="failed", finish_reason=reason, finished_at=utcnow()))

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        res = resources(self.crawler)
        try:
            await res.in_db(res.db.run, lambda s: self._close(s, spider, reason))
        except Exception as exc:
            if not database_full(exc):
                raise
            await res.in_db(res.db.run, lambda s: self._mark_failed(s, DATABASE_FULL))
        finally:
            res.close()


def new_run(session: Session) -> int:
    """A crawl_runs row for this process, status 'running'."""
    run = CrawlRun(host=socket.gethostname(), pid=os.getpid(), status="running")
    session.add(run)
    session.flush()
    return run.id


def mark_stale_runs(session: Session) -> int:
    """Runs left 'running' by a killed process on this host are marked 'killed'."""
    host = socket.gethostname()
    count = 0
    for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.host == host)):
        if run.pid and not process_alive(run.pid):
            run.status, run.finish_reason, run.finished_at = "killed", "process ended without closing", utcnow()
            count += 1
    return count


class ProgressReporter:
    """Prints a progress line to stderr every few seconds when CHAINWATCH_PROGRESS is on."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("CHAINWATCH_PROGRESS_INTERVAL", 5.0)
        self.task: asyncio.Task[None] | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressReporter:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("CHAINWATCH_PROGRESS"):
            raise NotConfigured
        return cls(crawler)

    def line(self) -> str:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        queued = stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0)
        return (f"  … pages {stats.get('chainwatch/pages', 0)}, new articles {stats.get('chainwatch/new', 0)}, "
                f"duplicates {stats.get('chainwatch/duplicates', 0)}, errors {stats.get('chainwatch/errors', 0)}, "
                f"queued {max(0, queued)}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            print(self.line(), file=sys.stderr, flush=True)

    def spider_opened(self, spider: Any) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    def spider_closed(self, spider: Any) -> None:
        if self.task:
            self.task.cancel()
