"""The server's own network is out of reach: ``sources add``/``sources test``, the web form and the
crawler itself (redirects included) refuse loopback, private, link-local, metadata and other
non-public addresses, however they are spelled or whatever name resolves to them, unless an admin
sets allow_private_networks.

The test sites live on loopback, so "a public host" is faked through the resolver
(socket.getaddrinfo, used by both netguard.check_url and the middleware's loop.getaddrinfo).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler
from sqlalchemy import select

import chainwatch.crawling
from chainwatch import sources as sources_core
from chainwatch.config import load_config
from chainwatch.context import AppContext
from chainwatch.netguard import UnsafeURLError, check_url, forbidden_reason
from chainwatch.sources import DiscoveryReport, SourceError, add_source, check_source_url, save_source
from crawler.middlewares import LoopAwareRedirectMiddleware, NetGuardMiddleware
from storage.db import open_database
from storage.models import CrawlError

REPO = Path(__file__).resolve().parent.parent

PUBLIC = "93.184.216.34"
FAKE_DNS = {
    "public.example": [PUBLIC],
    "public6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "internal.example": ["10.0.0.7"],
    "metadata.example": ["169.254.169.254"],
    "aliyun-metadata.example": ["100.100.100.200"],
    "v6-private.example": ["fd12:3456::1"],
    "v6-linklocal.example": ["fe80::1"],
    "v6-mapped.example": ["::ffff:127.0.0.1"],
    "split.example": [PUBLIC, "192.168.1.20"],  # one bad address is enough to refuse
}

# Every way to spell a forbidden address in a URL. Numeric spellings go to the real resolver
# (glibc reads 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 as 127.0.0.1 without any DNS query).
FORBIDDEN_URLS = [
    "http://127.0.0.1/", "http://127.8.9.10:8080/admin", "http://localhost:8080/", "http://LOCALHOST/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.0.1/", "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/latest/meta-data/",
    "http://100.64.0.1/", "http://[::1]/", "http://[::]/", "http://[fc00::1]/", "http://[fd00:ec2::254]/",
    "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:7f00:1]/", "http://[2002:7f00:1::1]/", "http://[64:ff9b::7f00:1]/",
    "http://2130706433/", "http://0x7f000001/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/",
    "http://017700000001/", "http://0xa9.0xfe.0xa9.0xfe/", "https://user:pw@127.0.0.1/",
    "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/",
    "http://internal.example/", "http://metadata.example/", "http://aliyun-metadata.example/",
    "http://v6-private.example/", "http://v6-linklocal.example/", "http://v6-mapped.example/", "http://split.example/",
]
NOT_CRAWLABLE = ["ftp://public.example/", "file:///etc/passwd", "gopher://public.example/", "javascript:alert(1)",
                 "http:///nohost", "http://does-not-resolve.example/"]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    real = socket.getaddrinfo
    calls: dict[str, list[str]] = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        calls.setdefault(name, [])
        if name.lower().rstrip(".") in FAKE_DNS:
            out = []
            for addr in FAKE_DNS[name.lower().rstrip(".")]:
                fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
                sockaddr = (addr, port or 0, 0, 0) if fam == socket.AF_INET6 else (addr, port or 0)
                out.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return out
        if name.lower() == "localhost" or (name and (name[0].isdigit() or ":" in name)):
            return real(host, port, family, type, proto, flags)  # numeric spellings and /etc/hosts only
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.fixture
def guarded_app(tmp_path: Path) -> AppContext:
    """An app as shipped: private networks not allowed."""
    cfg = load_config(env={"CHAINWATCH_HOME": str(tmp_path / "home"), "CHAINWATCH_CONTACT": "t@example.org"})
    assert cfg.allow_private_networks is False
    db = open_database(cfg.database_url, upgrade_schema=True)
    yield AppContext(config=cfg, _db=db)
    db.dispose()


@pytest.fixture
def no_discovery(monkeypatch: pytest.MonkeyPatch) -> list:
    """Discovery would fetch the URL: it must never be reached for a refused one."""
    calls: list = []

    def discover(config, requests, timeout=180):
        calls.append(requests)
        return [DiscoveryReport(url=r["url"], strategy="listing", listing_urls=[r["url"]]).to_dict() for r in requests]

    monkeypatch.setattr(chainwatch.crawling, "discover_sites", discover)
    return calls


# ------------------------------------------------------------------------------- the address rules
@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_check_url_refuses_the_servers_own_network(fake_dns, url: str) -> None:
    with pytest.raises(UnsafeURLError) as info:
        check_url(url)
    message = str(info.value)
    assert "allow_private_networks" in message and "CHAINWATCH_ALLOW_PRIVATE_NETWORKS=1" in message
    check_url(url, allow_private=True)  # an admin may allow it


@pytest.mark.parametrize("url", NOT_CRAWLABLE)
def test_check_url_refuses_other_schemes_and_unresolvable_hosts(fake_dns, url: str) -> None:
    with pytest.raises(UnsafeURLError, match=r"only http|no host|does not resolve"):
        check_url(url, allow_private=True)


def test_public_hosts_pass(fake_dns) -> None:
    for url in ("http://public.example/", "https://public6.example/x", f"http://{PUBLIC}/",
                "http://[2606:4700:4700::1111]/", "http://8.8.8.8/", "http://[2002:808:808::1]/"):
        check_url(url)


@pytest.mark.parametrize(("address", "words"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"), ("fe80::1%eth0", "link-local"), ("10.0.0.1", "private"),
    ("fd00::1", "private"), ("100.100.100.200", "shared"), ("2002:a00:1::", "private")])
def test_forbidden_reason_names_the_kind(address: str, words: str) -> None:
    assert words in (forbidden_reason(address) or "")


# ------------------------------------------------------------------------------- sources add / test
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "localhost:8080/news", "http://[::1]/",
                                 "http://169.254.169.254/", "http://0x7f.1/", "http://2130706433/",
                                 "http://metadata.example/", "http://v6-mapped.example/", "http://split.example/"])
def test_sources_add_and_test_refuse_with_a_clear_message(guarded_app, fake_dns, no_discovery, url: str) -> None:
    for action in (lambda: add_source(guarded_app, url), lambda: sources_core.test_source(guarded_app, url)):
        with pytest.raises(SourceError) as info:
            action()
        text = str(info.value)
        assert "does not crawl the server's own network" in text or "only http" in text
        assert "allow_private_networks" in text or "only http" in text
    assert no_discovery == []


@pytest.mark.parametrize("field", ["feed_url", "sitemap_url", "listing_urls"])
def test_sources_test_checks_every_url_given(guarded_app, fake_dns, no_discovery, field: str) -> None:
    value = "http://internal.example/feed" if field != "listing_urls" else ["http://internal.example/list"]
    with pytest.raises(SourceError, match=r"10\.0\.0\.7, a private-network address"):
        sources_core.test_source(guarded_app, "http://public.example/", **{field: value})
    assert no_discovery == []


def test_public_source_is_discovered_and_admin_may_allow_private(guarded_app, fake_dns, no_discovery,
                                                                 tmp_path) -> None:
    sources_core.test_source(guarded_app, "http://public.example/")
    assert len(no_discovery) == 1
    cfg = load_config(env={"CHAINWATCH_HOME": str(tmp_path / "home"), "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": "1"})
    allowed = AppContext(config=cfg, _db=guarded_app.db)
    assert check_source_url(allowed, "http://127.0.0.1:9/") == "http://127.0.0.1:9/"
    src = add_source(allowed, "http://169.254.169.254/")
    assert src.home_url == "http://169.254.169.254/"


def test_cli_sources_add_and_test_refuse(tmp_path, monkeypatch, no_discovery) -> None:
    from chainwatch.cli import main_group

    monkeypatch.delenv("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")
    monkeypatch.setenv("CHAINWATCH_HOME", str(tmp_path / "clihome"))
    runner = CliRunner()
    for args in (["sources", "add", "http://127.0.0.1:9/"], ["sources", "test", "http://[::ffff:127.0.0.1]/"],
                 ["sources", "add", "http://0x7f.1/"]):
        result = runner.invoke(main_group, args)
        assert result.exit_code != 0, result.output
        assert "loopback address" in result.output and "CHAINWATCH_ALLOW_PRIVATE_NETWORKS=1" in result.output
    assert no_discovery == []


def test_web_add_source_form_refuses(guarded_app, fake_dns, no_discovery) -> None:
    from web_seed import login, make_web

    web = make_web(guarded_app)
    token = login(web.client, "editor")
    for path in ("/sources/new/test", "/sources/new/add"):
        for url in ("http://127.0.0.1:8080/", "http://169.254.169.254/latest/", "http://internal.example/"):
            r = web.client.post(path, data={"url": url, "csrf_token": token})
            assert r.status_code == 400, (path, url, r.status_code)
            assert "allow_private_networks" in r.text
    r = web.client.post("/api/sources/test", json={"url": "http://[fd12:3456::1]/"},
                        headers={"X-CSRF-Token": token})
    assert r.status_code in (400, 422) and "allow_private_networks" in r.text
    assert no_discovery == []


# ------------------------------------------------------------------------------- the crawler middleware
def _crawler(allow: bool = False):
    return get_crawler(settings_dict={"CHAINWATCH_ALLOW_PRIVATE_NETWORKS": allow})


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_middleware_drops_requests_to_forbidden_addresses(fake_dns, url: str) -> None:
    guard = NetGuardMiddleware.from_crawler(_crawler())
    with pytest.raises(IgnoreRequest, match="allow_private_networks"):
        asyncio.run(guard.process_request(Request(url)))
    allowed = NetGuardMiddleware.from_crawler(_crawler(allow=True))
    assert asyncio.run(allowed.process_request(Request(url))) is None


@pytest.mark.parametrize("target", ["http://127.0.0.1:8080/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://internal.example/", "http://[::1]/", "http://2130706433/",
                                    "http://v6-mapped.example/", "/../../internal"])
def test_middleware_checks_again_after_a_redirect(fake_dns, target: str) -> None:
    crawler = _crawler()
    guard = NetGuardMiddleware.from_crawler(crawler)
    redirects = LoopAwareRedirectMiddleware.from_crawler(crawler)

    async def run() -> None:
        first = Request("http://public.example/news/")
        assert await guard.process_request(first) is None  # a public host is fetched
        location = target if not target.startswith("/") else "http://internal.example" + target
        response = HtmlResponse(first.url, status=302, headers={"Location": location}, request=first)
        follow = await redirects.process_response(first, response)
        assert isinstance(follow, Request) and follow.url != first.url
        with pytest.raises(IgnoreRequest, match="does not crawl the server's own network"):
            await guard.process_request(follow)

    asyncio.run(run())


def test_middleware_refuses_other_schemes(fake_dns) -> None:
    guard = NetGuardMiddleware.from_crawler(_crawler())
    with pytest.raises(IgnoreRequest, match="only http"):
        asyncio.run(guard.process_request(Request("ftp://public.example/x")))


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        body = b"<html><body><a href='/2024/11/1234.html'>secret internal page title here</a></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_crawl_of_a_source_on_loopback_fetches_nothing_and_records_why(tmp_path: Path) -> None:
    """A source saved while allowed (or edited to point inside) is still refused by the crawler."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        home = tmp_path / "crawlhome"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")}
        env.update({"CHAINWATCH_HOME": str(home), "CHAINWATCH_CONTACT": "t@example.org",
                    "CHAINWATCH_CRAWL_DOWNLOAD_TIMEOUT": "3", "CHAINWATCH_CRAWL_AUTOTHROTTLE": "0"})
        cfg = load_config(env=env)
        db = open_database(cfg.database_url, upgrade_schema=True)
        save_source(db, url, DiscoveryReport(url=url, strategy="listing", listing_urls=[url]), key="inside",
                    feed_url=url + "rss.xml")
        proc = subprocess.run([sys.executable, "-m", "chainwatch", "crawl", "--json", "--quiet"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        assert _Recorder.seen == []  # not even robots.txt
        with db.session() as s:
            errors = list(s.scalars(select(CrawlError)))
        db.dispose()
        assert errors, summary
        assert all(e.kind == "refused" for e in errors), [(e.kind, e.message) for e in errors]
        assert any("loopback address" in e.message and "allow_private_networks" in e.message for e in errors)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("answer, refused", [("127.0.0.1", True), ("10.1.2.3", True), ("169.254.169.254", True),
                                             ("93.184.216.34", False)])
def test_resolver_checks_the_address_the_connection_will_use(monkeypatch, answer: str, refused: bool) -> None:
    """DNS rebinding: the name answered a public address to the middleware's check and a private one now."""
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer
    from twisted.internet.error import DNSLookupError

    from crawler.resolver import GuardedResolver

    monkeypatch.setattr(CachingThreadedResolver, "getHostByName", lambda self, name, timeout=(): defer.succeed(answer))
    outcome: list = []
    for allow in (False, True):
        resolver = GuardedResolver(object(), cache_size=0, timeout=5, allow_private=allow)
        d = resolver.getHostByName("rebind.example.com")
        d.addCallbacks(outcome.append, lambda f: outcome.append(f.trap(DNSLookupError) and str(f.value)))
    if refused:
        assert answer in outcome[0] and "refused" in outcome[0] and outcome[1] == answer
    else:
        assert outcome == [answer, answer]


def test_crawler_settings_install_the_guarded_resolver() -> None:
    from scrapy.utils.project import get_project_settings

    assert get_project_settings()["TWISTED_DNS_RESOLVER"] == "crawler.resolver.GuardedResolver"


def test_editing_or_importing_a_source_checks_its_urls_too(guarded_app, fake_dns, no_discovery, tmp_path) -> None:
    url = "http://public.example/"
    save_source(guarded_app.db, url, DiscoveryReport(url=url, strategy="listing", listing_urls=[url]), key="news")
    for change in ({"feed_url": "http://127.0.0.1/rss.xml"}, {"listing_urls": ["http://169.254.169.254/latest/"]}):
        with pytest.raises(SourceError, match="allow_private_networks"):
            sources_core.update_source(guarded_app, "news", **change)
    assert sources_core.get_source(guarded_app.db, "news").feed_url is None
    sources_core.update_source(guarded_app, "news", feed_url="http://public.example/rss.xml", max_pages=3)
    assert sources_core.get_source(guarded_app.db, "news").feed_url == "http://public.example/rss.xml"

    listing = tmp_path / "sources.yaml"
    listing.write_text("sources:\n"
                       "  - {home_url: 'http://public.example/', key: news, feed_url: 'http://10.0.0.5/rss'}\n"
                       "  - {home_url: 'http://public6.example/', key: other, strategy: listing,\n"
                       "     listing_urls: ['http://[::1]/list/']}\n", encoding="utf-8")
    result = sources_core.import_sources(guarded_app, listing)
    assert len(result.errors) == 2 and not result.added and not result.updated, result
    assert sources_core.get_source(guarded_app.db, "news").feed_url == "http://public.example/rss.xml"
