"""Faults, each a test: what a crawl does when the process, the database or the sites misbehave.

Every crawl is the real ``python -m chainwatch crawl`` in a child process (Scrapy's reactor
runs once per process), against the demo sites on loopback and, for what they lack, a small
hostile server defined here. Faults covered elsewhere, and not repeated here:

* 500s, 429 + Retry-After, hangs, redirect hops and loops, PDFs, the demo gzip bomb and endless
  page, lying page charsets: ``tests/test_crawl.py::test_faults_are_recorded_and_do_not_stop_the_crawl``
* a second SQLite crawl at once: ``tests/test_crawl.py::test_second_crawl_at_once_is_refused``
* the digest outbox on a full disk:
  ``tests/test_digest_delivery.py::test_outbox_write_failure_leaves_no_partial_file_and_is_retried``;
  SMTP down, rejected recipients, slow servers: the rest of ``tests/test_digest_delivery.py``
* the scheduler's once-only jobs and its crawl lock: ``tests/test_scheduler.py``
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from chainwatch import sources as sources_core
from chainwatch.config import load_config
from chainwatch.context import AppContext
from chainwatch.demosite import DemoWeb
from storage.db import Database, open_database
from storage.models import Article, CrawlRun, Lock, Story

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
MAX_PAGE_BYTES = 2 * 1024 * 1024


# ---------------------------------------------------------------- helpers


def crawl_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")}
    env.update({"CHAINWATCH_HOME": str(home), "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": "1",
                "CHAINWATCH_CONTACT": "tests@example.org", "CHAINWATCH_CRAWL_DOWNLOAD_TIMEOUT": "2",
                "CHAINWATCH_CRAWL_MAX_PAGE_BYTES": str(MAX_PAGE_BYTES), "CHAINWATCH_CRAWL_AUTOTHROTTLE": "0",
                "CHAINWATCH_CRAWL_RETRY_TIMES": "1"})
    if database_url:
        env["CHAINWATCH_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chainwatch", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)


def start_cli(env: dict[str, str], *args: str, prelude: str = "") -> subprocess.Popen[str]:
    """``chainwatch ARGS`` in the background; ``prelude`` is Python run first in the child (test hooks)."""
    code = f"{prelude}\nimport sys\nfrom chainwatch.cli import main\nsys.argv = ['chainwatch', *{list(args)!r}]\nmain()"
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def summary_of(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def article_count(db: Database) -> int:
    try:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Article)) or 0
    except Exception:  # the crawl is creating the schema, or the server dropped us
        return 0


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the crawl ended before {what}: {proc.stderr.read()[-3000:] if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def path(url: str) -> str:
    return urlsplit(url).path


def assert_every_article_once(db: Database, web: DemoWeb) -> None:
    expected = {path(a.url) for a in web.articles()}
    with db.session() as s:
        stored = Counter(path(u) for u in s.scalars(select(Article.final_url)))
        canonical = Counter(s.scalars(select(Article.canonical_url)))
        orphans = s.scalar(select(func.count()).select_from(Article).where(
            Article.story_id.is_(None) | ~Article.story_id.in_(select(Story.id))))
    assert not expected - set(stored), f"articles lost: {sorted(expected - set(stored))}"
    assert all(n == 1 for n in stored.values()), f"stored twice: {[p for p, n in stored.items() if n > 1]}"
    assert all(n == 1 for n in canonical.values())
    assert orphans == 0, "articles without their story: half-written"


def assert_sqlite_intact(db_file: Path) -> None:
    conn = sqlite3.connect(db_file)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


# ---------------------------------------------------------------- the demo sites, discovered once


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoWeb, Path, Path]]:
    """The demo sites (no faults) and a home with them discovered, to copy; plus their sources YAML."""
    template = tmp_path_factory.mktemp("template")
    with DemoWeb() as web:
        env = crawl_env(template)
        app = AppContext(config=load_config(env=env))
        reports = sources_core.test_sources(app, [(site.url, {}) for site in web.sites])
        for site, report in zip(web.sites, reports, strict=True):
            assert report.usable, (site.key, report.errors)
            sources_core.save_source(app.db, site.url, report, key=site.key, region_code=site.region_code)
        sources_yaml = template.parent / f"{template.name}-sources.yaml"
        sources_yaml.write_text(sources_core.export_sources(app.db), encoding="utf-8")
        app.close()
        yield web, template, sources_yaml


def fresh_home(demo: tuple[DemoWeb, Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the discovered template home: (home, its SQLite file)."""
    home = tmp_path / "home"
    shutil.copytree(demo[1], home)
    return home, home / "chainwatch.sqlite3"


@pytest.fixture
def slow_sites(demo) -> Iterator[DemoWeb]:
    """The demo sites answering every request after 250 ms, so a crawl lasts a few seconds."""
    web = demo[0]
    web.latency_ms = 250
    try:
        yield web
    finally:
        web.latency_ms = 0


# ---------------------------------------------------------------- 1. killed in the middle


def test_crawl_killed_with_sigkill_is_finished_by_the_next_run(demo, slow_sites, tmp_path: Path) -> None:
    web = slow_sites
    home, db_file = fresh_home(demo, tmp_path)
    env = crawl_env(home, CHAINWATCH_CRAWL_CONCURRENCY_PER_DOMAIN="1")
    db = open_database(f"sqlite:///{db_file}")
    total = len(web.articles())
    proc = start_cli(env, "crawl", "--quiet", "--json")
    wait_for(lambda: article_count(db) >= 3, 60, "the first articles to be stored", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stored_when_killed = article_count(db)
    assert stored_when_killed < total, "the crawl finished before it was killed; the test proves nothing"
    with db.session() as s:  # the dead process left its lease and its run behind
        dead_owner = s.scalar(select(Lock.owner).where(Lock.name == "crawl"))
        assert dead_owner and f":{proc.pid}:" in dead_owner
        assert s.scalar(select(CrawlRun.status).where(CrawlRun.pid == proc.pid)) == "running"

    web.latency_ms = 0
    started = time.monotonic()
    rc, out, err = finish(start_cli(env, "crawl", "--quiet", "--json"))
    assert rc == 0, err[-3000:]  # not 75: the dead process's lease does not block the next run
    assert time.monotonic() - started < 60
    summary = summary_of(out)
    assert summary["status"] == "finished"
    assert summary["new"] == total - stored_when_killed
    assert_every_article_once(db, web)
    with db.session() as s:
        killed = s.scalars(select(CrawlRun).where(CrawlRun.pid == proc.pid)).one()
        assert killed.status == "killed" and killed.finished_at is not None
        assert s.scalar(select(func.count()).select_from(Lock)) == 0  # the second run released its lease
    db.dispose()
    assert_sqlite_intact(db_file)


def test_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(any_db) -> None:
    from chainwatch.locks import acquire, holder

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    for owner, taken in ((f"{host}:{dead.pid}:0badc0de", True), (f"{host}:{os.getppid()}:a11ve000", False),
                         (f"another-host:{dead.pid}:0badc0de", False)):
        old = acquire(any_db, "crawl", ttl_seconds=600, owner=owner)
        assert old is not None
        new = acquire(any_db, "crawl", ttl_seconds=600)
        assert (new is not None) is taken, owner
        assert holder(any_db, "crawl").owner == (new.owner if taken else owner)
        (new or old).release()
