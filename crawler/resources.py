"""Per-crawler shared resources (database, executors), built once from the crawler's settings.

Components get them through these functions instead of module globals, so two
crawlers in one process (tests) never share state.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scrapy.crawler import Crawler

from chainwatch.config import Config, load_config
from storage.db import Database, open_database

T = TypeVar("T")
_ATTR = "_chainwatch_resources"
log = logging.getLogger(__name__)


def cpu_process_count(setting: int) -> int:
    """Worker processes for extraction and tagging: ``setting`` when >= 0, else one per core (at most 4)
    on a machine with two or more cores, none (threads in the crawl process) on one core. Not one
    fewer than the cores: the crawl process itself (Scrapy and the database) needs well under half
    the CPU that extraction and tagging do."""
    if setting >= 0:
        return setting
    cores = os.cpu_count() or 1
    return min(4, cores) if cores >= 2 else 0


@dataclass
class Resources:
    config: Config
    db: Database
    # One writer thread: SQLite allows one writer at a time, and one thread keeps
    # article inserts (and story assignment) in a simple order.
    db_executor: ThreadPoolExecutor
    # Extraction and tagging are CPU work; off the event loop so downloads keep flowing. Worker
    # processes when the machine has a core to spare (threads would share the crawl's GIL), else
    # threads; ``in_cpu`` therefore takes module-level functions and picklable arguments only.
    # Started by the first ``in_cpu`` (discovery and other short crawls never need it).
    cpu_executor: Executor | None = None
    cpu_processes: int = 0
    # set once the worker processes are up: starting them (the fork server loads the tagger and
    # jieba first) takes seconds, which must not happen on the event loop thread
    cpu_ready: Future[None] | None = None
    _restarts: int = field(default=0, repr=False)

    async def in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.db_executor, fn, *args)

    async def in_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        for attempt in (1, 2):
            if self.cpu_executor is None:
                self.cpu_executor, self.cpu_ready = start_cpu_executor(self.cpu_processes)
            executor, ready = self.cpu_executor, self.cpu_ready
            try:
                if ready is not None and not ready.done():
                    await asyncio.wrap_future(ready)
                return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
            except BrokenProcessPool:
                # A worker died (killed, out of memory, a crash in a C extension on some page): the
                # pool is replaced and the pages it held are tried once more there; a page that
                # kills the new pool too fails, and the next crawl fetches it again.
                if executor is self.cpu_executor:
                    self._restarts += 1
                    log.warning("an extraction worker process died; starting a new pool (restart %d)",
                                self._restarts)
                    executor.shutdown(wait=False, cancel_futures=True)
                    self.cpu_executor, self.cpu_ready = start_cpu_executor(self.cpu_processes)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.cpu_executor is not None:
            self.cpu_executor.shutdown(wait=True, cancel_futures=True)
        self.db_executor.shutdown(wait=True)
        self.db.dispose()


def start_cpu_executor(processes: int) -> tuple[Executor, Future[None] | None]:
    """The CPU pool and a future set when its worker processes are running (None for threads).

    A process pool starts a worker on the first submit that finds none idle, in the submitting
    thread; here a thread of its own submits one no-op per worker, so the event loop never waits.
    """
    if processes <= 0:
        return ThreadPoolExecutor(2, thread_name_prefix="cw-cpu"), None
    # forkserver, not fork: the crawl process has threads and an event loop that a fork would copy.
    # The fork server loads the workers' code and data once (crawler.cpu_preload) before forking them.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["crawler.cpu_preload"])
    from crawler.cpu_worker import init_worker

    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=init_worker, initargs=(os.getpid(),))
    ready: Future[None] = Future()

    def start() -> None:
        try:
            for started in [pool.submit(os.getpid) for _ in range(processes)]:
                started.result()
            ready.set_result(None)
        except BaseException as exc:  # a broken pool: in_cpu raises it for the pages waiting
            ready.set_exception(exc)

    threading.Thread(target=start, name="cw-cpu-start", daemon=True).start()
    return pool, ready


def resources(crawler: Crawler) -> Resources:
    res = getattr(crawler, _ATTR, None)
    if res is None:
        config = load_config()
        url = crawler.settings.get("CHAINWATCH_DATABASE_URL") or config.database_url
        db = open_database(url, upgrade_schema=True)
        processes = cpu_process_count(crawler.settings.getint("CHAINWATCH_CPU_PROCESSES", -1))
        res = Resources(config=config, db=db, db_executor=ThreadPoolExecutor(1, thread_name_prefix="cw-db"),
                        cpu_processes=processes)
        setattr(crawler, _ATTR, res)
    return res


def allow_private_networks(crawler: Crawler) -> bool:
    value = crawler.settings.get("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")
    if value is None:
        return resources(crawler).config.allow_private_networks
    return crawler.settings.getbool("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")
