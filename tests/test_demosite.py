"""The demo web (chainwatch.demosite): sites, encodings, feeds, sitemaps, conditional requests, `now`, faults."""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from chainwatch.demosite import DemoWeb, SiteInfo

UA = "chainwatch-test/1.0"
ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Response:
    def __init__(self, status: int, headers: Any, body: bytes, url: str) -> None:
        self.status, self.headers, self.body, self.url = status, headers, body, url


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 5) -> Response:
    """GET (following redirects) and return status, headers and body; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers={"User-Agent": UA, **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return Response(resp.status, resp.headers, resp.read(), resp.url)
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read(), url)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_once(url: str) -> Response:
    """One request, redirects not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": UA}), timeout=5) as resp:
            return Response(resp.status, resp.headers, resp.read(), url)
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read(), url)


def hrefs(html: str, base: str) -> list[str]:
    return [urljoin(base, h) for h in re.findall(r'href="([^"#]+)"', html) if not h.startswith("javascript:")]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWeb]:
    log = tmp_path_factory.mktemp("demosite") / "access.jsonl"
    with DemoWeb(access_log=log) as server:
        yield server


@pytest.fixture(scope="module")
def fweb() -> Iterator[DemoWeb]:
    with DemoWeb(faults=True, hang_seconds=0.4, endless_seconds=5) as server:
        yield server


# --- sites ------------------------------------------------------------------------------------------
def test_sites_and_api(web: DemoWeb) -> None:
    sites = {s.key: s for s in web.sites}
    assert set(sites) == {"xinsu", "czgxj", "tianfu", "huaxia", "xiangchan"}
    assert all(isinstance(s, SiteInfo) and s.url.startswith("http://127.0.0.1:") and s.url.endswith("/")
               for s in sites.values())
    assert len({urlsplit(s.url).port for s in sites.values()}) == 5
    assert web.site("xinsu").feed_url and web.site("xinsu").sitemap_url is None
    assert web.site("czgxj").encoding == "gbk" and web.site("czgxj").feed_url is None
    assert web.site("tianfu").lang == "en" and web.site("tianfu").feed_url.endswith("/feed/")
    assert web.site("huaxia").feed_url is None and web.site("huaxia").sitemap_url
    assert web.site("xiangchan").encoding == "gb18030"
    articles = web.articles()
    assert 28 <= len(articles) <= 40
    kinds = {a.kind for a in articles}
    assert {"alliance", "target", "chain_chief", "achieved", "negative"} <= kinds
    week = [a for a in articles if a.published.isocalendar()[:2] == (2026, 46)]
    assert len(week) >= 8
    alliances = [item for a in articles for item in a.alliances]
    assert len(alliances) == 7 and all(set(item) == {"name", "region", "date"} for item in alliances)
    with pytest.raises(KeyError):
        web.site("nope")


def test_every_home_link_on_site_answers(web: DemoWeb) -> None:
    for site in web.sites:
        home = fetch(site.url)
        assert home.status == 200
        text = home.body.decode(site.encoding)
        local = {u for u in hrefs(text, site.url) if u.startswith(site.url) and "/search" not in u}
        articles = {a.url for a in web.articles(site.key)}
        assert len(local & articles) >= min(5, len(articles)), site.key
        for url in sorted(local & articles)[:3]:
            assert fetch(url).status == 200


def test_gbk_with_charset_only_in_meta(web: DemoWeb) -> None:
    site = web.site("czgxj")
    resp = fetch(site.url)
    assert resp.headers["Content-Type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        resp.body.decode("utf-8")
    html = resp.body.decode("gbk")
    assert '<meta http-equiv="Content-Type" content="text/html; charset=gbk">' in html
    article = next(a for a in web.articles("czgxj") if a.kind == "alliance")
    page = fetch(article.url).body.decode("gbk")
    assert "您当前的位置：<a href=\"/\">首页</a> &gt; <a href=\"/gzdt/index.html\">工作动态</a> &gt; 正文" in page
    assert f"发布时间：{article.published.date().isoformat()}" in page
    assert "产业联盟" in page and "<table" in page


def test_gov_pagination_and_listing_dates(web: DemoWeb) -> None:
    base = web.site("czgxj").url
    pages = [fetch(base + p) for p in ("gzdt/index.html", "gzdt/index_1.html", "gzdt/index_2.html")]
    assert [p.status for p in pages] == [200, 200, 200]
    assert fetch(base + "gzdt/index_3.html").status == 404
    middle = pages[1].body.decode("gbk")
    for word, target in (("首页", "index.html"), ("上一页", "index.html"), ("下一页", "index_2.html"),
                         ("尾页", "index_2.html")):
        assert f'<a href="/gzdt/{target}">{word}</a>' in middle
    assert re.search(r"2026年1[01]月\d\d日", middle)


def test_gb18030_listing_only_site(web: DemoWeb) -> None:
    site = web.site("xiangchan")
    assert site.feed_url is None and site.sitemap_url is None
    assert fetch(site.url + "robots.txt").status == 404
    first = fetch(site.url + "list/1.html")
    assert first.headers["Content-Type"] == "text/html"
    html = first.body.decode("gb18030")
    assert '<meta charset="gb18030">' in html and '<a href="/list/2.html">下一页</a>' in html
    last = fetch(site.url + "list/3.html").body.decode("gb18030")
    assert "下一页" not in last
    rare = next(a for a in web.articles("xiangchan") if "岳阳" in a.title)
    body = fetch(rare.url).body
    assert "邓䶮" in body.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")


def test_rss_feed_linked_and_parses(web: DemoWeb) -> None:
    site = web.site("xinsu")
    home = fetch(site.url).body.decode("utf-8")
    assert f'<link rel="alternate" type="application/rss+xml" title="新苏网 - 要闻速递" href="{site.feed_url}">' in home
    for tag in ("<header", "<nav", "<aside", "<footer"):
        assert tag in home
    resp = fetch(site.feed_url)
    assert resp.headers["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(resp.body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == len(web.articles("xinsu"))
    dates = [email.utils.parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
    assert dates == sorted(dates, reverse=True)
    assert fetch(items[0].findtext("link") or "").status == 200
    article = fetch(items[0].findtext("link") or "").body.decode("utf-8")
    assert "相关阅读" in article and "分享到" in article and "责任编辑" in article


def test_atom_feed_and_sitemap_index(web: DemoWeb) -> None:
    site = web.site("tianfu")
    feed = ET.fromstring(fetch(site.feed_url).body)
    assert feed.tag == f"{ATOM}feed"
    links = [e.find(f"{ATOM}link").get("href") for e in feed.findall(f"{ATOM}entry")]
    assert links and all(re.fullmatch(r"http://127\.0\.0\.1:\d+/2026/\d\d/\d\d/[a-z0-9-]+/", u) for u in links)
    index = ET.fromstring(fetch(site.sitemap_url).body)
    assert index.tag == f"{SM}sitemapindex"
    child_url = index.findtext(f"{SM}sitemap/{SM}loc")
    child = ET.fromstring(fetch(child_url).body)
    locs = [u.findtext(f"{SM}loc") for u in child.findall(f"{SM}url")]
    assert sorted(locs) == sorted(a.url for a in web.articles("tianfu"))
    robots = fetch(site.url + "robots.txt").body.decode()
    assert f"Sitemap: {site.sitemap_url}" in robots
    slug = links[0]
    assert fetch(slug.rstrip("/")).url == slug  # WordPress-style slash redirect


def test_traditional_aggregator_reposts(web: DemoWeb) -> None:
    site = web.site("huaxia")
    urlset = ET.fromstring(fetch(site.sitemap_url).body)
    locs = {u.findtext(f"{SM}loc") for u in urlset.findall(f"{SM}url")}
    reposts = [a for a in web.articles("huaxia") if a.duplicate_of]
    assert len(reposts) == 2 and all(a.url in locs for a in reposts)
    assert all(a.duplicate_of.startswith(web.site("xinsu").url) for a in reposts)
    html = fetch(reposts[0].url).body.decode("utf-8")
    assert re.search(r"聯\(lián\)盟", html) and "免責聲明" in html and "責任編輯：" in html
    rewritten = [a for a in web.articles("xinsu") if a.duplicate_of]
    assert len(rewritten) == 1 and rewritten[0].duplicate_of.startswith(web.site("czgxj").url)


def test_robots_and_trap(web: DemoWeb) -> None:
    site = web.site("czgxj")
    robots = fetch(site.url + "robots.txt")
    assert robots.status == 200 and "Disallow: /private/" in robots.body.decode()
    trap = web.trap_url("czgxj")
    assert trap and urlsplit(trap).path.startswith("/private/")
    assert f'href="{urlsplit(trap).path}"' in fetch(site.url).body.decode("gbk")
    assert fetch(trap).status == 200


# --- HTTP behaviour ----------------------------------------------------------------------------
def test_conditional_requests_head_query_404(web: DemoWeb) -> None:
    article = web.articles("xinsu")[0]
    first = fetch(article.url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and email.utils.parsedate_to_datetime(last_modified) == article.published
    assert fetch(article.url, {"If-None-Match": etag}).status == 304
    assert fetch(article.url, {"If-Modified-Since": last_modified}).status == 304
    older = email.utils.format_datetime(article.published - dt.timedelta(days=1), usegmt=False)
    assert fetch(article.url, {"If-Modified-Since": older}).status == 200
    assert fetch(article.url, {"If-None-Match": '"other"', "If-Modified-Since": last_modified}).status == 200
    home = fetch(web.site("xinsu").url)
    assert home.headers["ETag"] and "Last-Modified" not in home.headers
    assert fetch(web.site("xinsu").url, {"If-None-Match": home.headers["ETag"]}).status == 304
    head = fetch(article.url, method="HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) == len(first.body)
    assert fetch(article.url + "?from=timeline&id=3").body == first.body
    assert fetch(web.site("xinsu").url + "no/such/page.html").status == 404


def test_access_log(web: DemoWeb) -> None:
    url = web.site("tianfu").url + "category/industry/"
    etag = fetch(url).headers["ETag"]
    fetch(url, {"If-None-Match": etag})
    entries = [e for e in web.requests("tianfu") if e["path"] == "/category/industry/"]
    assert [e["status"] for e in entries[-2:]] == [200, 304]
    assert entries[-1]["ua"] == UA and entries[-1]["if_none_match"] == etag and entries[-1]["method"] == "GET"
    lines = [json.loads(line) for line in web.access_log.read_text(encoding="utf-8").splitlines()]
    assert {"time", "site", "method", "path", "status", "ua", "bytes"} <= set(lines[-1])
    assert any(e["site"] == "tianfu" and e["status"] == 304 for e in lines)


def test_now_hides_future_articles_and_set_now_reveals() -> None:
    with DemoWeb(now=dt.date(2026, 11, 10)) as web:
        site = web.site("xinsu")
        assert all(a.published.date() <= dt.date(2026, 11, 10) for a in web.articles())
        feed_before = fetch(site.feed_url).body.decode("utf-8")
        web.set_now(dt.date(2026, 11, 20))
        new = [a for a in web.articles("xinsu") if a.published.date() > dt.date(2026, 11, 10)]
        assert new
        assert new[0].url not in feed_before
        assert new[0].url in fetch(site.feed_url).body.decode("utf-8")
        assert fetch(new[0].url).status == 200
        web.set_now(dt.date(2026, 11, 10))
        assert fetch(new[0].url).status == 404
        assert urlsplit(new[0].url).path not in fetch(site.url).body.decode("utf-8")
        sitemap = fetch(web.site("huaxia").sitemap_url).body.decode("utf-8")
        assert "20261116" not in sitemap
        web.set_now(dt.date(2020, 1, 1))  # before every article: empty but valid sites
        assert web.articles() == [] and all(fetch(s.url).status == 200 for s in web.sites)
        web.set_now(None)
        assert len(web.articles()) >= 28


# --- faults ------------------------------------------------------------------------------------
def test_fault_pages_are_linked_like_articles(fweb: DemoWeb) -> None:
    site = fweb.site("czgxj")
    faults = fweb.fault_urls("czgxj")
    home = fetch(site.url).body.decode("gbk")
    listing = fetch(site.url + "gzdt/index.html").body.decode("gbk")
    for name in ("hang", "truncated", "pdf", "charset", "hop1", "loop1", "empty", "bomb", "endless"):
        path = urlsplit(faults[name]).path
        assert re.fullmatch(r"/gzdt/\d{6}/t\d{8}_\d+\.html", path)
        assert f'href="{path}"' in home and f'href="{path}"' in listing
    assert fetch(site.url + "gzdt/index_1.html").status == 200  # the regular site still works


def test_flaky_then_ok_and_429_retry_after(fweb: DemoWeb) -> None:
    faults = fweb.fault_urls("xinsu")
    assert [fetch(faults["flaky"]).status for _ in range(3)] == [500, 500, 200]
    busy = fetch(faults["busy"])
    assert busy.status == 429 and busy.headers["Retry-After"] == "1"
    assert fetch(faults["busy"]).status == 200


def test_hang(fweb: DemoWeb) -> None:
    url = fweb.fault_urls("tianfu")["hang"]
    started = time.monotonic()
    assert fetch(url).status == 200
    assert time.monotonic() - started >= 0.35
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(url, timeout=0.1)


def test_truncated_pdf_charset_empty(fweb: DemoWeb) -> None:
    faults = fweb.fault_urls("xinsu")
    truncated = fetch(faults["truncated"]).body
    with pytest.raises(UnicodeDecodeError):
        truncated.decode("utf-8")
    text = truncated.decode("utf-8", errors="ignore")
    assert "</html>" not in text and text.rstrip().endswith('alt="图为产业园区')
    pdf = fetch(faults["pdf"])
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.body.startswith(b"%PDF-")
    assert faults["pdf"].endswith(".html")
    liar = fetch(faults["charset"]).body
    assert b'<meta charset="utf-8">' in liar
    with pytest.raises(UnicodeDecodeError):
        liar.decode("utf-8")
    assert "制造业" in liar.decode("gbk")
    gov_liar = fetch(fweb.fault_urls("czgxj")["charset"]).body
    assert b"charset=gbk" in gov_liar and "制造业" in gov_liar.decode("utf-8")
    empty = fetch(faults["empty"])
    assert empty.status == 200 and empty.body == b""


def test_redirect_chain_and_loop(fweb: DemoWeb) -> None:
    faults = fweb.fault_urls("huaxia")
    statuses, url = [], faults["hop1"]
    for _ in range(3):
        resp = fetch_once(url)
        statuses.append(resp.status)
        url = urljoin(url, resp.headers["Location"])
    assert statuses == [301, 302, 307] and url == faults["target"]
    final = fetch(faults["hop1"])
    assert final.status == 200 and final.url == faults["target"]
    assert final.url in {a.url for a in fweb.articles("huaxia")}
    loop = fetch_once(faults["loop1"])
    assert loop.status == 302 and urljoin(faults["loop1"], loop.headers["Location"]) == faults["loop2"]
    assert urljoin(faults["loop2"], fetch_once(faults["loop2"]).headers["Location"]) == faults["loop1"]


def test_gzip_bomb(fweb: DemoWeb) -> None:
    resp = fetch(fweb.fault_urls("xiangchan")["bomb"], {"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip" and len(resp.body) < 300_000
    inflater, total, data = zlib.decompressobj(31), 0, resp.body
    while data:
        total += len(inflater.decompress(data, 8 << 20))
        data = inflater.unconsumed_tail
    assert total > 100 * 2**20
    assert zlib.decompressobj(31).decompress(resp.body[:4096], 64).startswith(b"<!DOCTYPE html>")


def test_endless_chunked_body(fweb: DemoWeb) -> None:
    url = urlsplit(fweb.fault_urls("xinsu")["endless"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    conn.request("GET", url.path, headers={"User-Agent": UA})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    got = 0
    while got < 2_000_000:
        got += len(resp.read1(65536))
    resp.close()
    conn.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        done = [e for e in fweb.requests("xinsu") if e["path"] == url.path]
        if done:
            break
        time.sleep(0.05)
    assert done and done[-1].get("error") == "client went away" and done[-1]["bytes"] >= got


def test_module_entry_point_serves_until_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "chainwatch.demosite", "--now", "2026-11-01"],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        lines = [proc.stdout.readline().split() for _ in range(5)] if proc.stdout else []
        assert [k for k, _ in lines] == ["xinsu", "czgxj", "tianfu", "huaxia", "xiangchan"]
        assert fetch(lines[0][1]).status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
