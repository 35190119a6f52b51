"""End to end: discovery and crawling of the project's own demo sites, served on loopback.

Scrapy's reactor runs once per process, so each crawl runs as the real
``python -m chainwatch crawl`` in a child process, as a user would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from chainwatch import sources as sources_core
from chainwatch.config import load_config
from chainwatch.context import AppContext
from chainwatch.demosite import DemoWeb
from storage.db import open_database
from storage.models import Article, CrawlError, CrawlRun, UrlState

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def crawl_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")}
    env.update({"CHAINWATCH_HOME": str(home), "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": "1",
                "CHAINWATCH_CONTACT": "tests@example.org",
                "CHAINWATCH_CRAWL_DOWNLOAD_TIMEOUT": "3", "CHAINWATCH_CRAWL_MAX_PAGE_BYTES": str(5 * 1024 * 1024),
                "CHAINWATCH_CRAWL_AUTOTHROTTLE": "0"})
    if database_url:
        env["CHAINWATCH_DATABASE_URL"] = database_url
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chainwatch", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, check=False)


def add_demo_sources(env: dict[str, str], web: DemoWeb) -> AppContext:
    app = AppContext(config=load_config(env=env))
    reports = sources_core.test_sources(app, [(site.url, {}) for site in web.sites])
    for site, report in zip(web.sites, reports, strict=True):
        assert report.usable, (site.key, report.errors)
        sources_core.save_source(app.db, site.url, report, key=site.key, region_code=site.region_code)
    return app


def crawl(env: dict[str, str]) -> dict:
    proc = run_cli(env, "crawl", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoWeb, AppContext, dict]]:
    """The demo sites with faults, discovered and crawled once."""
    home = tmp_path_factory.mktemp("crawlhome")
    with DemoWeb(faults=True, hang_seconds=6, endless_seconds=8) as web:
        env = crawl_env(home)
        app = add_demo_sources(env, web)
        summary = crawl(env)
        yield web, app, summary
        app.close()


def test_discovery_finds_each_sites_strategy(crawled) -> None:
    web, app, _ = crawled
    from chainwatch.sources import list_sources

    by_key = {s.key: s for s in list_sources(app.db)}
    assert by_key["xinsu"].strategy == "feed" and by_key["xinsu"].feed_url == web.site("xinsu").feed_url
    assert by_key["tianfu"].feed_url and by_key["tianfu"].sitemap_url
    assert by_key["huaxia"].strategy == "sitemap"
    assert by_key["czgxj"].strategy == "listing"  # GBK government site: neither feed nor sitemap
    assert by_key["xiangchan"].strategy == "listing"
    assert by_key["czgxj"].name == "常州市工业和信息化局"  # the GBK title decoded from a meta-only charset


def test_every_article_is_stored_once(crawled) -> None:
    web, app, _ = crawled
    expected = {path(a.url) for a in web.articles()}
    with app.db.session() as s:
        stored = Counter(path(u) for u in s.scalars(select(Article.final_url)))
    missing = expected - set(stored)
    assert not missing, f"articles not stored: {sorted(missing)}"
    assert all(n == 1 for n in stored.values())


def test_gbk_and_gb18030_pages_are_decoded(crawled) -> None:
    web, app, _ = crawled
    wanted = {a.url: a.title for a in web.articles() if a.site in ("czgxj", "xiangchan")}
    with app.db.session() as s:
        rows = dict(s.execute(select(Article.final_url, Article.title).where(Article.final_url.in_(wanted))).all())
    assert rows and all(rows[url] == wanted[url] for url in rows)
    with app.db.session() as s:
        texts = s.scalars(select(Article.text).where(Article.final_url.in_(wanted))).all()
    assert all("\ufffd" not in t and "锟斤拷" not in t for t in texts)


def test_robots_txt_is_obeyed_and_no_page_is_fetched_twice(crawled) -> None:
    web, _, _ = crawled
    requests = web.requests()
    trap = path(web.trap_url("czgxj"))
    assert not [r for r in requests if r["path"].startswith(path(trap).rsplit("/", 2)[0])], "robots.txt violated"
    full = Counter((r["site"], r["path"]) for r in requests if r["status"] == 200 and r["method"] == "GET"
                   and not r.get("error"))
    twice = {k: n for k, n in full.items() if n > 1}
    assert not twice, f"fetched in full more than once: {twice}"
    assert all(r["ua"].startswith("chainwatch/") and "tests@example.org" in r["ua"] for r in requests)


def test_faults_are_recorded_and_do_not_stop_the_crawl(crawled) -> None:
    web, app, summary = crawled
    faults = web.fault_urls("czgxj")
    with app.db.session() as s:
        stored = set(s.scalars(select(Article.final_url)))
        kinds = {e.url: e.kind for e in s.scalars(select(CrawlError))}
        states = {u.url: u.reason for u in s.scalars(select(UrlState))}
    assert faults["flaky"] in stored  # 500, 500, then 200: retried and stored
    assert faults["busy"] in stored  # 429 with Retry-After, then 200
    assert faults["target"] in stored  # the end of the redirect chain, stored under its final URL
    assert faults["pdf"] not in stored and "pdf" in states.get(faults["pdf"], "")
    assert kinds.get(faults["hang"]) == "timeout"
    assert faults["loop1"] in kinds or faults["loop2"] in kinds
    assert faults["bomb"] not in stored and faults["endless"] not in stored
    assert summary["status"] == "finished"
    per_source = {s["key"]: s for s in summary["sources"]}
    assert set(per_source) == {s.key for s in web.sites}
    assert all(s["new"] > 0 for s in per_source.values())
    assert per_source["czgxj"]["errors"] >= 3


def test_reposts_join_the_original_story(crawled) -> None:
    web, app, _ = crawled
    with app.db.session() as s:
        story_of = dict(s.execute(select(Article.final_url, Article.story_id)).all())
    reposts = [a for a in web.articles() if a.duplicate_of]
    assert reposts
    for a in reposts:
        assert story_of[a.url] == story_of[a.duplicate_of], f"{a.url} not grouped with {a.duplicate_of}"
    originals = {a.url for a in web.articles() if not a.duplicate_of}
    stories = Counter(story_of[u] for u in originals)
    assert all(n == 1 for n in stories.values()), "distinct stories merged"


def test_crawl_run_is_recorded(crawled) -> None:
    _, app, summary = crawled
    with app.db.session() as s:
        run = s.get(CrawlRun, summary["run_id"])
        assert run is not None and run.status == "finished"
        assert run.new_articles == s.scalar(select(func.count()).select_from(Article))


def test_second_crawl_fetches_only_new_articles(tmp_path: Path) -> None:
    with DemoWeb(now=date(2026, 11, 12)) as web:
        env = crawl_env(tmp_path / "home")
        app = add_demo_sources(env, web)
        first = crawl(env)
        assert first["new"] > 0
        before = {a.url for a in web.articles()}
        web.clear_requests()
        web.set_now(date(2026, 11, 30))
        after = {a.url for a in web.articles()}
        new_urls = after - before
        assert new_urls
        second = crawl(env)
        article_paths = {path(u) for u in after}
        fetched = [r["path"] for r in web.requests() if r["path"] in article_paths and r["status"] == 200]
        assert sorted(fetched) == sorted(path(u) for u in new_urls)
        assert second["new"] == len(new_urls)
        with app.db.session() as s:
            stored = {path(u) for u in s.scalars(select(Article.final_url))}
        assert {path(u) for u in after} <= stored
        app.close()


def test_crawl_stores_into_postgres(tmp_path: Path, postgres_url: str) -> None:
    with DemoWeb() as web:
        env = crawl_env(tmp_path / "home", postgres_url)
        env["CHAINWATCH_CRAWL_CPU_PROCESSES"] = "0"  # extraction in threads, as on a one-core machine
        app = add_demo_sources(env, web)
        summary = crawl(env)
        assert summary["status"] == "finished"
        db = open_database(postgres_url)
        with db.session() as s:
            count = s.scalar(select(func.count()).select_from(Article))
        assert count == len(web.articles())
        db.dispose()
        app.close()


def test_second_crawl_at_once_is_refused(tmp_path: Path) -> None:
    from chainwatch.locks import lease

    env = crawl_env(tmp_path / "home")
    app = AppContext(config=load_config(env=env))
    with lease(app.db, "crawl", ttl_seconds=60, owner="another-host:1234"):
        proc = run_cli(env, "crawl", "--quiet")
    assert proc.returncode == 75
    assert "another crawl is running" in proc.stderr and "another-host:1234" in proc.stderr
    app.close()


def test_sources_left_unfinished_are_decided_per_source(any_db) -> None:
    """A killed crawl of every source, then a finished crawl of one: the others still count as cut
    short (their listings are walked to the end by the next crawl), the finished one does not."""
    from chainwatch.crawling import sources_left_unfinished
    from storage.models import CrawlRun, CrawlRunSource, Source

    with any_db.session() as s:
        a, b, c = (Source(key=k, name=k, home_url=f"https://{k}.example.cn/") for k in "abc")
        s.add_all([a, b, c])
        s.flush()
        ids = [a.id, b.id, c.id]
        old = CrawlRun(status="finished")  # long ago, every source, before runs recorded their sources
        killed = CrawlRun(status="killed")
        s.add_all([old, killed])
        s.flush()
        s.add_all(CrawlRunSource(run_id=killed.id, source_id=i) for i in ids)
        only_a = CrawlRun(status="finished")
        s.add(only_a)
        s.flush()
        s.add(CrawlRunSource(run_id=only_a.id, source_id=a.id))
        running = CrawlRun(status="running")  # this crawl
        s.add(running)
        s.flush()
        own = running.id
    with any_db.session() as s:
        assert sources_left_unfinished(s, ids, own) == {ids[1], ids[2]}
        assert sources_left_unfinished(s, [ids[0]], own) == set()
    with any_db.session() as s:  # a later crawl of every source finishes: nothing left
        done = CrawlRun(status="finished")
        s.add(done)
        s.flush()
        s.add_all(CrawlRunSource(run_id=done.id, source_id=i) for i in ids)
    with any_db.session() as s:
        assert sources_left_unfinished(s, ids, own) == set()
    with any_db.session() as s:  # killed before it recorded its sources: counts for every source
        s.add(CrawlRun(status="killed"))
    with any_db.session() as s:
        assert sources_left_unfinished(s, ids, own) == set(ids)
