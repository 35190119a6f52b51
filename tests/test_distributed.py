"""Distributed crawls: two ``chainwatch crawl --distributed`` worker processes (separate homes, as on
two machines) share one Redis queue and one PostgreSQL database, against the demo sites."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_crawl import REPO, add_demo_sources, crawl_env, path, run_cli

from chainwatch.demosite import DemoWeb
from storage.db import Database
from storage.models import Article, CrawlRun

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of this test's own, its keys deleted afterwards."""
    import redis

    prefix = f"cwtest-{uuid.uuid4().hex[:10]}"
    yield prefix
    server = redis.Redis.from_url(redis_url)
    keys = list(server.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        server.delete(*keys)


def worker_env(home: Path, database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = crawl_env(home, database_url)
    env.update({"CHAINWATCH_CRAWL_REDIS_URL": redis_url, "CHAINWATCH_CRAWL_REDIS_PREFIX": prefix,
                "CHAINWATCH_CRAWL_WORKER_HEARTBEAT": "0.5", "CHAINWATCH_CRAWL_WORKER_TIMEOUT": "3"})
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "chainwatch", "crawl", "--distributed", "--json", "--quiet"],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)


def result(proc: subprocess.Popen[str], log: Path, timeout: float = 180) -> dict:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, log.read_text()[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def wait_for_workers(redis_url: str, prefix: str, n: int, procs: list[subprocess.Popen[str]],
                     timeout: float = 90) -> None:
    """Until ``n`` workers have joined the crawl (their start-up, imports included, takes seconds)."""
    import redis

    server = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        if any(server.hlen(k) >= n for k in server.scan_iter(match=f"{prefix}:*:workers")):
            return
        time.sleep(0.05)
    raise AssertionError(f"{n} workers did not join within {timeout} s")


def stored(db: Database) -> Counter[str]:
    with db.session() as s:
        return Counter(path(u) for u in s.scalars(select(Article.final_url)))


def article_fetches(web: DemoWeb) -> Counter[str]:
    paths = {path(a.url) for a in web.articles()}
    return Counter(r["path"] for r in web.requests() if r["path"] in paths and r["method"] == "GET")


def test_requests_survive_the_trip_through_redis() -> None:
    """Callbacks are spider methods and meta values pickle: what scrapy-redis stores comes back whole."""
    from scrapy.utils.request import request_from_dict

    from spiders.news import NewsSpider, SourceSpec

    spider = NewsSpider()
    spec = SourceSpec(id=7, key="k", home_url="http://a.example/", feed_url="http://a.example/feed",
                      sitemap_url="http://a.example/sitemap.xml", listing_urls=("http://a.example/news/",),
                      allow=(), deny=(), encoding=None, max_pages=None, language="zh", region_code="410000")
    requests = [*spider.entry_requests(spec), spider.article_request(spec, "http://a.example/a/1.html",
                                                                      date(2026, 11, 3), "标题")]
    for request in requests:
        back = request_from_dict(pickle.loads(pickle.dumps(request.to_dict(spider=spider), protocol=-1)),
                                 spider=spider)
        assert back.url == request.url and back.meta == request.meta and back.priority == request.priority
        assert back.callback == request.callback and back.errback == request.errback


def test_redis_keys_are_per_database_and_selection() -> None:
    from chainwatch.distributed import redis_base

    a = redis_base("cw", "postgresql://u:secret@DB.internal:5432/news")
    assert a == redis_base("cw", "postgresql+psycopg://other@db.internal:5432/news")  # same database
    assert "secret" not in a
    assert a != redis_base("cw", "postgresql://u@db.internal:5432/news2")
    assert redis_base("cw", "postgresql://db/x", ["b", "a"]) == redis_base("cw", "postgresql://db/x", ["a", "b"])
    assert redis_base("cw", "postgresql://db/x", ["a"]) != redis_base("cw", "postgresql://db/x")


def test_distributed_needs_postgres(tmp_path: Path, redis_url: str) -> None:
    env = crawl_env(tmp_path / "home")
    env["CHAINWATCH_CRAWL_REDIS_URL"] = redis_url
    proc = run_cli(env, "crawl", "--distributed", "--quiet")
    assert proc.returncode != 0 and "PostgreSQL" in proc.stderr


def test_two_workers_fetch_and_store_every_article_once(tmp_path: Path, postgres_url: str, pg_db: Database,
                                                        redis_url: str, redis_prefix: str) -> None:
    with DemoWeb() as web:
        envs = [worker_env(tmp_path / f"home{i}", postgres_url, redis_url, redis_prefix) for i in (1, 2)]
        # Sources added from a third machine: its discovery samples sit in its own HTTP cache, so every
        # article page must come from one of the workers.
        add_demo_sources(crawl_env(tmp_path / "admin", postgres_url), web).close()
        web.clear_requests()
        started = time.monotonic()
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        # The sites answer slowly until both workers are up, so the first cannot finish alone.
        web.latency_ms = 1000
        procs = [start_worker(env, log) for env, log in zip(envs, logs, strict=True)]
        wait_for_workers(redis_url, redis_prefix, 2, procs)
        web.latency_ms = 50
        summaries = [result(p, log) for p, log in zip(procs, logs, strict=True)]
        elapsed = time.monotonic() - started

        expected = {path(a.url) for a in web.articles()}
        fetched = article_fetches(web)
        assert set(fetched) == expected
        assert all(n == 1 for n in fetched.values()), {p: n for p, n in fetched.items() if n > 1}
        counts = stored(pg_db)
        assert set(counts) == expected and all(n == 1 for n in counts.values())

        crawls = {s["distributed"]["crawl"] for s in summaries}
        assert len(crawls) == 1, "both workers joined one crawl"
        assert sorted(s["distributed"]["started"] for s in summaries) == [False, True]
        assert all(s["status"] == "finished" for s in summaries)
        assert sum(s["new"] for s in summaries) == len(expected)
        assert all(s["pages"] > 0 for s in summaries), "both workers did some of the work"
        with pg_db.session() as s:
            runs = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
        assert [r.status for r in runs] == ["finished", "finished"]
        print(f"\n2 workers: pages {[s['pages'] for s in summaries]}, new {[s['new'] for s in summaries]}, "
              f"{elapsed:.1f} s")

        # A week later: a new crawl (new keys, empty duplicate filter) fetches exactly the new articles.
        before = {path(a.url) for a in web.articles()}
        web.set_now(date(2099, 1, 1))
        new = {path(a.url) for a in web.articles()} - before
        web.clear_requests()
        again = [start_worker(env, log) for env, log in zip(envs, logs, strict=True)]
        later = [result(p, log) for p, log in zip(again, logs, strict=True)]
        assert {s["distributed"]["crawl"] for s in later}.isdisjoint(crawls)
        assert sum(s["new"] for s in later) == len(new)
        assert sorted(article_fetches(web)) == sorted(new)


def test_a_killed_worker_loses_nothing(tmp_path: Path, postgres_url: str, pg_db: Database, redis_url: str,
                                       redis_prefix: str) -> None:
    import redis

    server = redis.Redis.from_url(redis_url)
    # slow enough that the victim is still downloading when it is killed, however fast the pipeline
    with DemoWeb(latency_ms=900) as web:
        envs = [worker_env(tmp_path / f"home{i}", postgres_url, redis_url, redis_prefix,
                           CHAINWATCH_CRAWL_CONCURRENCY_PER_DOMAIN="2") for i in (1, 2)]
        add_demo_sources(crawl_env(tmp_path / "admin", postgres_url), web).close()
        web.clear_requests()
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        victim = start_worker(envs[0], logs[0])
        survivor = start_worker(envs[1], logs[1])
        # Kill the first worker while it holds article requests (in its in-flight hash in Redis).
        deadline = time.monotonic() + 60
        held: list[bytes] = []
        while time.monotonic() < deadline and victim.poll() is None:
            for key in server.scan_iter(match=f"{redis_prefix}:*:inflight:*:{victim.pid}:*"):
                held = [f for f in server.hkeys(key) if f != b"seeding" and b"parse_article" in f]
            if len(held) >= 2 and len(stored(pg_db)) >= 1:
                break
            time.sleep(0.05)
        assert held and victim.poll() is None, "the victim never held article requests"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        # what it held as it died (the scan above may have seen requests it finished and swept since)
        held = [f for key in server.scan_iter(match=f"{redis_prefix}:*:inflight:*:{victim.pid}:*")
                for f in server.hkeys(key) if f != b"seeding"]
        assert held, "the victim held nothing when it died; the test proves nothing"
        summary = result(survivor, logs[1])

        expected = {path(a.url) for a in web.articles()}
        counts = stored(pg_db)
        assert set(counts) == expected, f"lost: {sorted(expected - set(counts))}"
        assert all(n == 1 for n in counts.values())
        assert summary["status"] == "finished"
        assert summary["distributed"]["recovered"] >= len(held)  # re-queued by the survivor, none lost
        fetched = article_fetches(web)
        print(f"\nkilled holding {len(held)} article requests; survivor re-queued "
              f"{summary['distributed']['recovered']}, fetched {summary['pages']} pages; "
              f"articles fetched twice: {sum(1 for n in fetched.values() if n > 1)}")
        with pg_db.session() as s:
            assert s.scalar(select(func.count()).select_from(CrawlRun).where(CrawlRun.status == "finished")) == 1


def test_a_plain_crawl_and_distributed_workers_exclude_each_other(tmp_path: Path, postgres_url: str,
                                                                  pg_db: Database, redis_url: str,
                                                                  redis_prefix: str) -> None:
    from chainwatch.locks import lease

    env = worker_env(tmp_path / "home", postgres_url, redis_url, redis_prefix)
    with lease(pg_db, "crawl-worker:otherhost:99:abc", ttl_seconds=60, owner="otherhost:99:abc"):
        plain = run_cli(env, "crawl", "--quiet")
    assert plain.returncode == 75 and "distributed crawl is running" in plain.stderr, plain.stderr[-2000:]
    with lease(pg_db, "crawl", ttl_seconds=60, owner="another-host:1234"):
        worker = run_cli(env, "crawl", "--distributed", "--quiet")
    assert worker.returncode == 75 and "not distributed is running" in worker.stderr, worker.stderr[-2000:]
