"""Running Scrapy for chainwatch: crawls, discovery, and their summaries.

Scrapy's reactor runs once per process, so the CLI crawls in its own process and
everything that needs a crawl from a long-lived process (web app, scheduler,
``sources add`` for several sites) starts ``python -m chainwatch.worker``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.settings import Settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from chainwatch.config import Config
from chainwatch.context import AppContext
from storage.models import CrawlError, CrawlRun, CrawlRunSource, Source

log = logging.getLogger(__name__)


class CrawlBusy(RuntimeError):
    """Another crawl holds the crawl lock."""


class DistributedUnavailable(RuntimeError):
    """A distributed crawl cannot start: no PostgreSQL database or no Redis."""


def sources_left_unfinished(session: Session, source_ids: list[int], own_run_id: int = 0) -> set[int]:
    """Which of ``source_ids`` had their newest earlier crawl end unfinished (killed, database full or
    away, stopped): its listing walk may have stopped halfway, with articles deeper down neither
    stored nor remembered, so the next crawl pages through their listings past known pages.

    Per source, so that a ``crawl --source A`` that finishes does not hide that a killed crawl of
    every source left B and C halfway. A run records its sources as it starts; a run with none
    recorded (an older version's, or killed before it could) counts for every source. Only the
    newest 50 runs are looked at.
    """
    runs = session.execute(select(CrawlRun.id, CrawlRun.status).where(
        CrawlRun.id != own_run_id, CrawlRun.status != "running").order_by(CrawlRun.id.desc()).limit(50)).all()
    covered: dict[int, set[int]] = {}
    for run_id, source_id in session.execute(select(CrawlRunSource.run_id, CrawlRunSource.source_id)
                                             .where(CrawlRunSource.run_id.in_([r[0] for r in runs]))):
        covered.setdefault(run_id, set()).add(source_id)
    seen: set[int] = set()
    unfinished: set[int] = set()
    for run_id, status in runs:  # newest first: each source's newest run decides
        for source_id in covered.get(run_id) or source_ids:
            if source_id not in seen:
                seen.add(source_id)
                if status != "finished":
                    unfinished.add(source_id)
    return unfinished & set(source_ids)


def scrapy_settings(config: Config, *, progress: bool = False, distributed: bool = False,
                    source_keys: list[str] | None = None, **extra: Any) -> Settings:
    """Scrapy settings from chainwatch's configuration. ``distributed`` (run_crawl passes
    ``--distributed`` or ``crawl.distributed``) swaps in the shared Redis scheduler; discovery and
    other helpers never get it."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    c = config.crawl
    settings.setdict({
        "CHAINWATCH_DATABASE_URL": config.database_url,
        "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": config.allow_private_networks,
        "CHAINWATCH_PROGRESS": progress,
        "CHAINWATCH_MAX_PAGES": c.max_pages,
        "USER_AGENT": config.user_agent,
        "CONCURRENT_REQUESTS": c.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_domain,
        "DOWNLOAD_TIMEOUT": c.download_timeout,
        "DOWNLOAD_MAXSIZE": c.max_page_bytes,
        "DOWNLOAD_DELAY": c.download_delay,
        "RETRY_TIMES": c.retry_times,
        "AUTOTHROTTLE_ENABLED": c.autothrottle,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": c.autothrottle_target_concurrency,
        "REDIRECT_MAX_TIMES": c.max_redirects,
        "CHAINWATCH_CPU_PROCESSES": c.cpu_processes,
        "HTTPCACHE_DIR": str(config.cache_dir / "http"),
        "LOG_LEVEL": "WARNING",
    }, priority="cmdline")
    if distributed:
        from chainwatch.distributed import redis_base

        settings.setdict({
            "SCHEDULER": "chainwatch.distributed.DistributedScheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_PERSIST": True,
            "REDIS_URL": c.redis_url,
            "CHAINWATCH_REDIS_BASE": redis_base(c.redis_prefix, config.database_url, source_keys),
            "CHAINWATCH_WORKER_HEARTBEAT": c.worker_heartbeat,
            "CHAINWATCH_WORKER_TIMEOUT": c.worker_timeout,
        }, priority="cmdline")
    settings.setdict(extra, priority="cmdline")
    return settings


@dataclass
class SourceSummary:
    key: str
    name: str
    pages: int = 0
    not_modified: int = 0
    new: int = 0
    duplicates: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)


@dataclass
class CrawlSummary:
    run_id: int
    status: str
    finish_reason: str | None
    pages: int
    new: int
    duplicates: int
    errors: int
    sources: list[SourceSummary]
    # distributed crawls: {"crawl", "worker", "started", "keys", "recovered"} of this worker's share
    distributed: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def summary_of(app: AppContext, run_id: int) -> CrawlSummary:
    with app.db.session() as s:
        run = s.get(CrawlRun, run_id)
        if run is None:
            raise LookupError(f"no crawl run {run_id}")
        rows = s.execute(select(CrawlRunSource, Source).join(Source, Source.id == CrawlRunSource.source_id)
                         .where(CrawlRunSource.run_id == run_id).order_by(Source.key)).all()
        errors: dict[int, list[str]] = {}
        for err in s.scalars(select(CrawlError).where(CrawlError.run_id == run_id).order_by(CrawlError.id)):
            errors.setdefault(err.source_id or 0, []).append(f"{err.kind}: {err.url} ({err.message})")
        sources = [SourceSummary(key=src.key, name=src.name, pages=rs.pages_fetched, not_modified=rs.not_modified,
                                 new=rs.new_articles, duplicates=rs.duplicates, errors=rs.errors,
                                 error_messages=errors.get(src.id, []))
                   for rs, src in rows]
        return CrawlSummary(run_id=run.id, status=run.status, finish_reason=run.finish_reason,
                            pages=run.pages_fetched, new=run.new_articles, duplicates=run.duplicates,
                            errors=run.errors, sources=sources)


def run_crawl(app: AppContext, source_keys: list[str] | None = None, *, progress: bool = False,
              distributed: bool = False, wait_for_lock: bool = False) -> CrawlSummary:
    """Crawl the enabled sources (or ``source_keys``) in this process. One crawl at a time per
    database: a second one raises CrawlBusy with who holds the lock.

    Distributed (``distributed`` or ``crawl.distributed``): this process is one worker of a crawl
    shared through Redis (docs/distributed.md). Workers run together, each holding its own
    ``crawl-worker:…`` lease and recording its own crawl run; a plain crawl and distributed workers
    exclude each other."""
    from chainwatch.locks import LockHeld, holder, lease

    distributed = distributed or app.config.crawl.distributed
    db = app.db
    if source_keys:
        with db.session() as s:
            known = set(s.scalars(select(Source.key).where(Source.key.in_(source_keys))))
        unknown = sorted(set(source_keys) - known)
        if unknown:
            raise LookupError(f"unknown source: {', '.join(unknown)} (see: chainwatch sources list)")
    ttl = app.config.crawl.download_timeout * 20 + 600
    if distributed:
        from chainwatch.distributed import check_redis, new_worker_id

        if not db.is_postgres:
            raise DistributedUnavailable("a distributed crawl needs a PostgreSQL database_url shared by the "
                                         "workers (this one is SQLite)")
        try:
            check_redis(app.config.crawl.redis_url)
        except ConnectionError as exc:
            raise DistributedUnavailable(str(exc)) from None
        worker = new_worker_id()
        with lease(db, f"{WORKER_LOCK_PREFIX}{worker}", ttl_seconds=ttl, owner=worker) as held:
            plain = holder(db, "crawl")
            if plain is not None:
                raise CrawlBusy(f"a crawl that is not distributed is running ({plain.owner}, since "
                                f"{plain.acquired_at:%Y-%m-%d %H:%M} UTC); this worker was not started")
            return _crawl(app, source_keys, held, progress=progress, distributed=True, worker=worker)
    try:
        with lease(db, "crawl", ttl_seconds=ttl) as held:
            workers = live_workers(db)
            if workers:
                raise CrawlBusy(f"a distributed crawl is running ({len(workers)} workers: {', '.join(workers[:3])}); "
                                "this one was not started; add --distributed to join it")
            return _crawl(app, source_keys, held, progress=progress)
    except LockHeld as exc:
        raise CrawlBusy(f"another crawl is running ({exc.owner}, since {exc.since:%Y-%m-%d %H:%M} UTC); "
                        "this one was not started") from None


WORKER_LOCK_PREFIX = "crawl-worker:"


def live_workers(db: Any) -> list[str]:
    """Owners of live ``crawl-worker:`` leases: distributed workers crawling this database now
    (a worker killed on this host does not count, whatever its lease's expiry says)."""
    from chainwatch.locks import dead_local_owner
    from storage.models import Lock
    from storage.timeutil import utcnow

    now = utcnow()
    owners = db.run(lambda s: list(s.scalars(select(Lock.owner).where(
        Lock.name.like(WORKER_LOCK_PREFIX + "%"), Lock.expires_at > now).order_by(Lock.owner))))
    return [o for o in owners if not dead_local_owner(o)]


def _crawl(app: AppContext, source_keys: list[str] | None, held: Any, *, progress: bool,
           distributed: bool = False, worker: str | None = None) -> CrawlSummary:
    from scrapy.crawler import CrawlerProcess

    from crawler.extensions import mark_stale_runs, new_run
    from spiders.news import NewsSpider

    db = app.db
    db.run(mark_stale_runs)
    run_id = db.run(new_run)
    extra: dict[str, Any] = {"CHAINWATCH_RUN_ID": run_id}
    if worker:
        extra["CHAINWATCH_WORKER_ID"] = worker
    settings = scrapy_settings(app.config, progress=progress, distributed=distributed, source_keys=source_keys,
                               **extra)
    process = CrawlerProcess(settings)
    kwargs = {"source": ",".join(source_keys)} if source_keys else {}
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, **kwargs)
    _renew_while_running(held)
    _freeze_startup_heap(tagging=settings.getbool("CHAINWATCH_TAGGING", True))
    process.start()
    summary = summary_of(app, run_id)
    if distributed:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        summary.distributed = {k.rsplit("/", 1)[1]: v for k, v in stats.items()
                               if k.startswith("chainwatch/distributed/")}
        summary.distributed.setdefault("recovered", 0)
    return summary


_heap_frozen = False


def _freeze_startup_heap(tagging: bool) -> None:
    """Move what the crawl process has loaded so far (Scrapy, SQLAlchemy, the spider, the gazetteer the
    store reads region names from) out of the garbage collector's sight, once per process.

    Those ~160,000 objects live as long as the process, yet every full collection walked them all
    again (0.1-0.3 s each; full collections took 0.9 s per 1,000 stored pages, 0.3 s after this). Frozen objects are still freed by reference
    counting; only a reference cycle among them would be kept."""
    global _heap_frozen
    if _heap_frozen:
        return
    import gc

    if tagging:
        from tagging.gazetteer import Gazetteer

        Gazetteer.default()
    gc.collect()
    gc.freeze()
    _heap_frozen = True


def _renew_while_running(held: Any) -> None:
    """Keep the crawl lease alive from the reactor while the crawl runs."""
    from twisted.internet import task, threads

    if not hasattr(held, "renew"):
        return
    loop = task.LoopingCall(threads.deferToThread, held.renew)  # a DB write: off the reactor thread
    loop.start(60, now=False)


def discover_sites(config: Config, requests: list[dict[str, Any]], timeout: float = 180) -> list[dict[str, Any]]:
    """Run discovery for several sites in one worker process; each request is
    ``{"url": ..., overrides...}``; returns DiscoveryReport dicts in the same order."""
    cmd = [sys.executable, "-m", "chainwatch.worker", "discover"]
    env = _worker_env(config)
    proc = subprocess.run(cmd, input=json.dumps(requests), capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"discovery failed (exit {proc.returncode}): {tail}")
    return json.loads(proc.stdout)


def start_crawl_process(app: AppContext, source_keys: list[str] | None = None) -> int:
    """Start ``chainwatch crawl`` in the background (web app's "crawl now", scheduler); returns its pid."""
    logs = app.config.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "chainwatch", "crawl"]
    for key in source_keys or []:
        cmd += ["--source", key]
    with open(logs / "crawl.log", "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_worker_env(app.config),
                                start_new_session=True)
    return proc.pid


def _worker_env(config: Config) -> dict[str, str]:
    """The child sees this process's effective configuration, whatever its own environment says."""
    env = dict(os.environ)
    for key, value in config.as_dict(mask_secrets=False).items():
        if key.startswith(("smtp.", "web.")) or key == "config_file" or value is None:
            continue  # a crawl needs no mail or web secrets
        env["CHAINWATCH_" + key.upper().replace(".", "_")] = (
            ("1" if value else "0") if isinstance(value, bool) else str(value))
    repo_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
