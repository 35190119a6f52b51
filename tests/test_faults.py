"""Faults, each a test: what a crawl does when the process, the database or the sites misbehave.

Every crawl is the real ``python -m chainwatch crawl`` in a child process (Scrapy's reactor
runs once per process), against the demo sites on loopback and, for what they lack, a small
hostile server defined here. Here: a crawl killed with SIGKILL; two machines crawling one
PostgreSQL database; PostgreSQL going away mid-run; SQLite locked by another writer; the database
full; a site down run after run; 200 MB pages, a gzip bomb, a drip-fed page, an endless redirect
chain, 503 + Retry-After, an empty 200, a GBK feed that says UTF-8 and a UTF-8 page that says GBK.
The demo sites answer slowly (``slow_sites``) where a crawl must still be running when the fault hits.

Faults covered elsewhere, and not repeated here:

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
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from chainwatch import sources as sources_core
from chainwatch.cli import main_group
from chainwatch.config import load_config
from chainwatch.context import AppContext
from chainwatch.demosite import DemoWeb
from storage.db import Database, open_database
from storage.models import Article, CrawlError, CrawlRun, Lock, Story, UrlState

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
MAX_PAGE_BYTES = 2 * 1024 * 1024
SLOW = {"CHAINWATCH_CRAWL_CONCURRENCY": "2"}


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


def worker_processes(home: Path) -> set[int]:
    """The crawl's extraction workers and their fork server: processes started with this
    CHAINWATCH_HOME whose command is multiprocessing's."""
    marker = f"CHAINWATCH_HOME={home}".encode() + b"\0"
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"multiprocessing" in (entry / "cmdline").read_bytes() \
                    and marker in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


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
    """The demo sites answering every request after 800 ms: with two requests at a time (env SLOW), a crawl
    fetches for some 20 s, far longer than the pipeline takes to store the first article, whatever the load."""
    web = demo[0]
    web.latency_ms = 800
    try:
        yield web
    finally:
        web.latency_ms = 0


# ---------------------------------------------------------------- 1. killed in the middle


def crawl_with_two_workers_under_way(demo, tmp_path: Path) -> tuple[Path, Path, dict[str, str], Database,
                                                                      subprocess.Popen[str]]:
    """A crawl of the slow demo sites with two extraction workers, past its first stored article:
    (home, SQLite file, env, database, the crawl process)."""
    home, db_file = fresh_home(demo, tmp_path)
    env = crawl_env(home, **SLOW, CHAINWATCH_CRAWL_CPU_PROCESSES="2")
    db = open_database(f"sqlite:///{db_file}")
    proc = start_cli(env, "crawl", "--quiet", "--json")
    wait_for(lambda: article_count(db) >= 1, 60, "the first articles to be stored", proc)
    return home, db_file, env, db, proc


def test_crawl_killed_with_sigkill_is_finished_by_the_next_run(demo, slow_sites, tmp_path: Path) -> None:
    web = slow_sites
    home, db_file, env, db, proc = crawl_with_two_workers_under_way(demo, tmp_path)
    total = len(web.articles())
    workers = worker_processes(home)
    assert len(workers) >= 3, "expected a fork server and two extraction workers"  # CPU_PROCESSES=2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stored_when_killed = article_count(db)
    # the workers go with the crawl instead of waiting forever on their task pipes
    wait_for(lambda: not alive(workers), 15, "the extraction workers to exit")
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


def test_extraction_workers_killed_mid_crawl_the_crawl_goes_on_and_the_next_run_completes(
        demo, slow_sites, tmp_path: Path) -> None:
    web = slow_sites
    home, _db_file, env, db, proc = crawl_with_two_workers_under_way(demo, tmp_path)
    total = len(web.articles())
    first_pool = worker_processes(home)
    server = {pid for pid in first_pool if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
              == str(proc.pid)}
    workers = first_pool - server
    assert len(workers) == 2, (first_pool, server)
    for pid in workers:  # out of memory, or a crash in a C extension on some page
        os.kill(pid, signal.SIGKILL)
    stored_at_kill = article_count(db)
    assert stored_at_kill < total, "the crawl finished before its workers were killed; the test proves nothing"
    web.latency_ms = 0
    rc, out, err = finish(proc)
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    summary = summary_of(out)
    assert summary["status"] == "finished"
    assert "extraction worker process died" in err
    assert article_count(db) > stored_at_kill  # a new pool took over: articles were stored after the kill
    assert not alive(worker_processes(home)), "a worker outlived its crawl"
    again = start_cli(env, "crawl", "--quiet", "--json")
    rc, out, err = finish(again)
    assert rc == 0, err[-3000:]
    assert_every_article_once(db, web)  # the pages the dead workers held were fetched again
    db.dispose()


def test_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(any_db) -> None:
    from chainwatch.locks import acquire, holder

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    for owner, taken in ((f"{host}:{dead.pid}:0badc0de", True), (f"{host}:{os.getppid()}:a11ve000", False),
                         (f"another-host:{dead.pid}:0badc0de", False)):
        old = acquire(any_db, "crawl", ttl_seconds=600, owner=owner)
        assert old is not None
        assert (holder(any_db, "crawl") is None) is taken  # a dead holder holds nothing
        new = acquire(any_db, "crawl", ttl_seconds=600)
        assert (new is not None) is taken, owner
        assert holder(any_db, "crawl").owner == (new.owner if taken else owner)
        (new or old).release()


# ---------------------------------------------------------------- 3. hostile and dead sources

HOSTILE_ARTICLE = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head><body>
<h1>{title}</h1><p class="date">2026-11-10</p><div class="content">
<p>{title}。近日，市工业和信息化局召开会议，部署全市重点产业链招商和项目建设工作，会议强调要聚焦新能源汽车、
集成电路和高端装备三条产业链，落实链长制，推动产业链上下游企业协同发展。</p>
<p>会议提出，到2027年全市规上工业产值力争突破5000亿元，新增专精特新企业100家，打造一批具有竞争力的产业集群。</p>
</div></body></html>"""
BIG_BYTES = 200 * 1024 * 1024
BOMB = None


def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MB of HTML."""
    global BOMB
    if BOMB is None:
        import zlib

        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b" " * (1 << 20)
        BOMB = packer.compress(b"<html><body>") + b"".join(packer.compress(block) for _ in range(200)) + packer.flush()
    return BOMB


class HostileHandler(BaseHTTPRequestHandler):
    """What the demo sites lack: a 200 MB page, a page that drips forever, a redirect chain without end,
    503 + Retry-After, an empty 200, and a feed whose bytes are GBK while it says UTF-8."""

    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        srv, p = self.server, self.path
        srv.hits[p] = srv.hits.get(p, 0) + 1
        srv.times.setdefault(p, []).append(time.monotonic())
        try:
            if p == "/":
                self.send(200, b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                          b"</head><body><p>feed only</p></body></html>")
            elif p == "/feed.xml":
                items = "".join(f"<item><title>{t}</title><link>{srv.url}{u.lstrip('/')}</link>"
                                f"<pubDate>Tue, 10 Nov 2026 08:00:00 +0800</pubDate></item>"
                                for u, t in srv.feed_items())
                feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>恶意测试站</title>'
                        f"<link>{srv.url}</link>{items}</channel></rss>")
                self.send(200, feed.encode("gbk"), "application/rss+xml; charset=utf-8")  # lies: GBK bytes
            elif p in srv.articles:
                title, charset = srv.articles[p]
                # /a/2.html says GBK but is UTF-8; /a/1.html tells the truth
                self.send(200, HOSTILE_ARTICLE.format(title=title, charset=charset).encode("utf-8"),
                          f"text/html; charset={charset}")
            elif p == "/busy.html":
                if srv.hits[p] == 1:
                    self.send(503, b"busy", Retry_After="1")
                else:
                    self.send(200, HOSTILE_ARTICLE.format(title=srv.busy_title, charset="utf-8").encode())
            elif p == "/empty.html":
                self.send(200, b"")
            elif p.startswith("/hop/"):
                self.send(302, b"", Location=f"/hop/{int(p.rsplit('/', 1)[1]) + 1}")
            elif p == "/bomb.html":
                self.send(200, gzip_bomb(), Content_Encoding="gzip")
            elif p in ("/big.html", "/big-chunked.html"):
                self.stream_big(chunked=p == "/big-chunked.html")
            elif p == "/drip.html":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while not srv.stopping.wait(0.2):
                    self.wfile.write(b"<p>")
                    self.wfile.flush()
            else:
                self.send(404, b"not found")
        except OSError:  # the crawler hung up: what it should do on these pages
            self.close_connection = True

    def stream_big(self, chunked: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(BIG_BYTES))
        self.end_headers()
        block = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        sent = 0
        try:
            while sent < BIG_BYTES and not self.server.stopping.is_set():
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        finally:
            self.server.sent[self.path] = sent
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        gzip_bomb()  # built before serving: building it takes longer than the download timeout
        self.hits: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}
        self.sent: dict[str, int] = {}
        self.stopping = threading.Event()
        self.articles = {"/a/1.html": ("恶意测试站产业链招商会议召开", "utf-8"),
                         "/a/2.html": ("集成电路产业联盟在常州成立", "gbk")}
        self.busy_title = "新能源汽车产业链链长制工作推进会举行"
        self.faults = ["/busy.html", "/empty.html", "/hop/0", "/bomb.html", "/big.html", "/big-chunked.html",
                       "/drip.html"]

    def feed_items(self) -> list[tuple[str, str]]:
        return [(u, t) for u, (t, _) in self.articles.items()] + [(u, f"栏目{u}") for u in self.faults]

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_feed_source(db: Database, key: str, home: str) -> None:
    report = sources_core.DiscoveryReport(url=home, strategy="feed", site_name=key, feed_url=home + "feed.xml")
    sources_core.save_source(db, home, report, key=key)


def test_hostile_and_dead_sources_are_bounded_and_reported_and_the_others_crawled_fully(demo, tmp_path: Path) -> None:
    web = demo[0]
    home, db_file = fresh_home(demo, tmp_path)
    env = crawl_env(home)
    db = open_database(f"sqlite:///{db_file}")
    down = f"http://127.0.0.1:{closed_port()}/"
    with HostileServer() as hostile:
        add_feed_source(db, "hostile", hostile.url)
        add_feed_source(db, "down", down)
        started = time.monotonic()
        proc = cli(env, "crawl", "--quiet", "--json")
        elapsed = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = summary_of(proc.stdout)
        big_sent = dict(hostile.sent)
        for _ in range(2):  # the rest of the week: the site stays down
            again = cli(env, "crawl", "--quiet", "--json", "--source", "down")
            assert again.returncode == 0, again.stderr[-3000:]
    print(f"hostile crawl: {elapsed:.1f}s", summary)
    assert_every_article_once_but(db, web, extra={path(u) for u in hostile.articles} | {"/busy.html"})
    per_source = {s["key"]: s for s in summary["sources"]}
    assert all(per_source[s.key]["errors"] == 0 for s in web.sites)
    with db.session() as s:
        kinds = {path(e.url): e.kind for e in s.scalars(select(CrawlError).where(
            CrawlError.run_id == summary["run_id"], CrawlError.url.startswith(hostile.url)))}
        skipped = {path(u.url): u.reason for u in s.scalars(select(UrlState))}
        titles = dict(s.execute(select(Article.final_url, Article.title)
                                .where(Article.final_url.startswith(hostile.url))).all())
    assert "/" not in kinds  # the home page is fine
    assert kinds.get("/big.html") == "too_large" and kinds.get("/big-chunked.html") == "too_large"
    assert kinds.get("/bomb.html") == "too_large"
    assert kinds.get("/drip.html") == "timeout"
    assert any(k == "redirects" for p, k in kinds.items() if p.startswith("/hop/")), kinds
    assert skipped.get("/empty.html") == "empty body"
    # the lying feed and the lying page are read in their real encoding
    assert sorted(titles.values()) == sorted([t for t, _ in hostile.articles.values()] + [hostile.busy_title])
    # limits: the 200 MB pages were cut near DOWNLOAD_MAXSIZE, the redirect chain at REDIRECT_MAX_TIMES
    assert all(n < 20 * MAX_PAGE_BYTES for n in big_sent.values()), big_sent
    assert max(int(p.rsplit("/", 1)[1]) for p in hostile.hits if p.startswith("/hop/")) <= 10
    assert hostile.hits["/busy.html"] == 2  # 503 + Retry-After: 1, then the page, asked for a second later
    first, second = hostile.times["/busy.html"]
    assert second - first >= 0.95
    # a week down: every run fails on it, and its health says so
    health = {h["key"]: h for h in sources_core.source_health(db)}
    assert health["down"]["consecutive_failures"] == 3
    assert health["down"]["last_error"].startswith("connection: ") and "refused" in health["down"]["last_error"]
    assert health["hostile"]["consecutive_failures"] == 0 and health["xinsu"]["consecutive_failures"] == 0
    shown = CliRunner().invoke(main_group, ["sources", "show", "down"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "the last 3 crawls fetched nothing but errors" in shown.output and "Connection refused" in shown.output
    db.dispose()
    assert_sqlite_intact(db_file)


def assert_every_article_once_but(db: Database, web: DemoWeb, extra: set[str]) -> None:
    expected = {path(a.url) for a in web.articles()} | extra
    with db.session() as s:
        stored = Counter(path(u) for u in s.scalars(select(Article.final_url)))
    assert set(stored) == expected, (expected - set(stored), set(stored) - expected)
    assert all(n == 1 for n in stored.values())


# ---------------------------------------------------------------- PostgreSQL: two machines, server away


def import_demo_sources(demo, env: dict[str, str]) -> None:
    app = AppContext(config=load_config(env=env))
    result = sources_core.import_sources(app, demo[2], discover_missing=False)
    assert not result.errors and len(result.added) == len(demo[0].sites), result
    app.close()


def test_two_machines_on_one_postgres_database_crawl_one_at_a_time(demo, slow_sites, pg_db, postgres_url: str,
                                                                   tmp_path: Path) -> None:
    from chainwatch.locks import holder

    web = slow_sites
    env_a = crawl_env(tmp_path / "machine-a", postgres_url, **SLOW)
    env_b = crawl_env(tmp_path / "machine-b", postgres_url)
    import_demo_sources(demo, env_a)
    first = start_cli(env_a, "crawl", "--quiet", "--json")
    wait_for(lambda: holder(pg_db, "crawl") is not None, 60, "machine A to take the crawl lease", first)
    second = cli(env_b, "crawl", "--quiet", "--json")
    assert first.poll() is None, "machine A finished before B tried; the test proves nothing"
    assert second.returncode == 75, second.stderr[-3000:]
    assert "another crawl is running" in second.stderr and f":{first.pid}:" in second.stderr  # names the holder
    assert second.stdout == ""
    web.latency_ms = 0
    rc, out, err = finish(first)
    assert rc == 0, err[-3000:]
    assert summary_of(out)["status"] == "finished"
    assert_every_article_once(pg_db, web)
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(CrawlRun)) == 1  # B started no run


OUTAGE = 12.0  # seconds; longer than storage.db's retries (0.2 + 0.4 + 0.8 + 1.6 s)


def test_postgres_going_away_mid_run_then_the_next_run_completes(demo, slow_sites, pg_db, postgres_url: str,
                                                                 tmp_path: Path) -> None:
    import psycopg

    web = slow_sites
    env = crawl_env(tmp_path / "home", postgres_url, **SLOW)
    import_demo_sources(demo, env)
    total = len(web.articles())
    web.clear_requests()
    proc = start_cli(env, "crawl", "--quiet", "--json")
    wait_for(lambda: article_count(pg_db) >= 1, 60, "the first articles to be stored", proc)
    name = urlsplit(postgres_url).path.lstrip("/")
    maintenance = postgres_url.rsplit("/", 1)[0] + "/postgres"
    terminated = 0
    stored_before = article_count(pg_db)
    with psycopg.connect(maintenance, autocommit=True) as admin:
        # The server goes away for OUTAGE seconds: no new connections, every open one cut, again and again.
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            until = time.monotonic() + OUTAGE
            while time.monotonic() < until:
                terminated += len(admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall())
                time.sleep(0.05)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    assert terminated
    web.latency_ms = 0
    assert stored_before < total, "the crawl finished before the server went away; the test proves nothing"
    rc, _out, err = finish(proc)
    assert rc in (0, 1), err[-3000:]  # finished, or failed cleanly ...
    assert "Traceback" not in err, err[-3000:]  # ... with a message, not a crash
    # an article fetched but not stored is remembered for the next run (a listing stops paginating at a
    # page with nothing new, so one deeper down would otherwise never be fetched again)
    articles = {path(a.url) for a in web.articles()}
    fetched = {r["path"] for r in web.requests() if r["path"] in articles and r["status"] == 200}
    with pg_db.session() as s:
        stored = {path(u) for u in s.scalars(select(Article.final_url))}
        retry = {path(u) for u in s.scalars(select(UrlState.url).where(UrlState.status == "failed"))}
    assert fetched - stored, "no article failed to store; the outage proves nothing"
    assert fetched - stored <= retry, f"fetched, not stored and forgotten: {sorted(fetched - stored - retry)}"
    again = cli(env, "crawl", "--quiet", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert summary_of(again.stdout)["status"] == "finished"
    assert_every_article_once(pg_db, web)
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(CrawlRun).where(CrawlRun.status == "running")) == 0


# ---------------------------------------------------------------- 4. SQLite locked by another writer


def test_sqlite_locked_by_another_writer_for_seconds_the_crawl_waits_and_completes(demo, slow_sites,
                                                                                    tmp_path: Path) -> None:
    web = slow_sites
    home, db_file = fresh_home(demo, tmp_path)
    env = crawl_env(home, **SLOW)
    db = open_database(f"sqlite:///{db_file}")
    total = len(web.articles())
    proc = start_cli(env, "crawl", "--quiet", "--json")
    wait_for(lambda: article_count(db) >= 1, 60, "the first articles to be stored", proc)
    other = sqlite3.connect(db_file, isolation_level=None, timeout=30)
    other.execute("BEGIN IMMEDIATE")  # another program's long write transaction
    other.execute("UPDATE sources SET name = name || ' (renamed)' WHERE key = 'xinsu'")
    locked_at = article_count(db)
    time.sleep(4)
    assert article_count(db) == locked_at  # nothing got through the lock ...
    assert proc.poll() is None and locked_at < total, "the crawl finished under the lock; the test proves nothing"
    other.execute("COMMIT")
    other.close()
    web.latency_ms = 0
    rc, out, err = finish(proc)
    assert rc == 0, err[-3000:]  # ... and the crawl waited for it instead of failing
    summary = summary_of(out)
    assert summary["status"] == "finished" and summary["errors"] == 0, summary
    assert_every_article_once(db, web)
    db.dispose()
    assert_sqlite_intact(db_file)


# ---------------------------------------------------------------- 5. disk full while writing the database

FULL_DISK = """
import storage.db as _db
_pragmas = _db._sqlite_pragmas
def _small_disk(conn, record):  # the file may not grow past {pages} pages: SQLITE_FULL, as on a full disk
    _pragmas(conn, record)
    conn.execute("PRAGMA max_page_count = {pages}")
_db._sqlite_pragmas = _small_disk
"""


def test_database_disk_full_fails_clearly_and_a_later_run_completes(demo, tmp_path: Path) -> None:
    web = demo[0]
    home, db_file = fresh_home(demo, tmp_path)
    env = crawl_env(home)
    conn = sqlite3.connect(db_file)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    proc = start_cli(env, "crawl", "--quiet", "--json", prelude=FULL_DISK.format(pages=pages + 40))
    rc, out, err = finish(proc)
    assert rc == 1, err[-3000:]  # the crawl stopped and said why, in its summary and on stderr
    summary = summary_of(out)
    assert (summary["status"], summary["finish_reason"]) == ("failed", "database_full")
    assert "the database is full (database or disk is full); stopping the crawl" in err
    assert "Traceback" not in err and "[SQL:" not in err  # each lost article is one line, not its INSERT
    db = open_database(f"sqlite:///{db_file}")
    assert 0 < article_count(db) < len(web.articles())
    db.dispose()
    assert_sqlite_intact(db_file)
    again = cli(env, "crawl", "--quiet", "--json")  # space again
    assert again.returncode == 0, again.stderr[-3000:]
    db = open_database(f"sqlite:///{db_file}")
    assert_every_article_once(db, web)
    db.dispose()
    assert_sqlite_intact(db_file)


def test_database_unreachable_from_the_start_is_one_clear_line(tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", f"postgresql://postgres@127.0.0.1:{closed_port()}/chainwatch")
    proc = cli(env, "crawl", "--quiet")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("database error: connection failed")
