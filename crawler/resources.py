"""Per-crawler shared resources (database, executors), built once from the crawler's settings.

Components get them through these functions instead of module globals, so two
crawlers in one process (tests) never share state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from scrapy.crawler import Crawler

from chainwatch.config import Config, load_config
from storage.db import Database, open_database

T = TypeVar("T")
_ATTR = "_chainwatch_resources"


@dataclass
class Resources:
    config: Config
    db: Database
    # One writer thread: SQLite allows one writer at a time, and one thread keeps
    # article inserts (and story assignment) in a simple order.
    db_executor: ThreadPoolExecutor
    # Extraction and tagging are CPU work; off the event loop so downloads keep flowing.
    cpu_executor: ThreadPoolExecutor

    async def in_db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.db_executor, fn, *args)

    async def in_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.cpu_executor, fn, *args)

    def close(self) -> None:
        self.cpu_executor.shutdown(wait=True)
        self.db_executor.shutdown(wait=True)
        self.db.dispose()


def resources(crawler: Crawler) -> Resources:
    res = getattr(crawler, _ATTR, None)
    if res is None:
        config = load_config()
        url = crawler.settings.get("CHAINWATCH_DATABASE_URL") or config.database_url
        db = open_database(url, upgrade_schema=True)
        res = Resources(config=config, db=db,
                        db_executor=ThreadPoolExecutor(1, thread_name_prefix="cw-db"),
                        cpu_executor=ThreadPoolExecutor(2, thread_name_prefix="cw-cpu"))
        setattr(crawler, _ATTR, res)
    return res


def allow_private_networks(crawler: Crawler) -> bool:
    value = crawler.settings.get("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")
    if value is None:
        return resources(crawler).config.allow_private_networks
    return crawler.settings.getbool("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")
