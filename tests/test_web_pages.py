"""Pages: search, article, events, sources, subscribers and digests, users; escaping everywhere."""

from __future__ import annotations

import csv
import io

import pytest
from web_seed import XSS_SOURCE, XSS_SUBSCRIBER, XSS_TITLE, login, make_web

import chainwatch.crawling
import chainwatch.sources
from chainwatch.search import index_article
from chainwatch.sources import DiscoveryReport, SourceError
from storage.models import Article, Source

RAW_MARKUP = ("<script>alert(", "<img src=x", "<b onmouseover", "<i>")


def _no_raw_markup(html: str) -> None:
    for needle in RAW_MARKUP:
        assert needle not in html, needle


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setattr(chainwatch.crawling, "start_crawl_process", lambda app, keys=None: 4242)
    return make_web(app)


@pytest.fixture
def editor(web):
    return web, login(web.client, "editor")


def _report(url: str, **overrides) -> DiscoveryReport:
    return DiscoveryReport(
        url=url, strategy="feed", site_name="<i>测试</i>日报", language="zh", feed_url=url + "rss.xml",
        links_found=[url + f"a{i}.html" for i in range(12)],
        samples=[{"url": url + "a1.html", "title": "洛阳轴承产业链招商推介会举行", "date": "2025-11-01",
                  "length": 1200, "first_lines": "11月1日，洛阳轴承产业链招商推介会……"},
                 {"url": "javascript:alert(1)", "title": "<script>alert(9)</script>", "date": None,
                  "length": 10, "first_lines": ""}])


# --------------------------------------------------------------------------- search


def test_search_chinese_english_region_and_story_collapse(web) -> None:
    c = web.client
    login(c, "reader")
    r = c.get("/search", params={"q": "轴承"})
    assert r.status_code == 200
    assert "<mark>轴承</mark>" in r.text
    assert "同一事件也见于" in r.text  # the alliance story has two sources
    story = [web.seeded.articles["ly-alliance"], web.seeded.articles["ly-alliance-repost"]]
    assert sum(r.text.count(f'<h2><a href="/articles/{i}">') for i in story) == 1
    r = c.get("/search", params={"q": "bearings"})
    assert "Luoyang sets target for" in r.text and "<mark>bearings</mark>" in r.text
    r = c.get("/search", params={"q": "轴承", "region": "河南"})
    assert "孟津区" in r.text and "地区：" in r.text
    assert "洛阳市" in r.text  # the drill-down facet shows prefectures
    r = c.get("/search", params={"q": "轴承", "region": "浙江"})
    assert "没有找到匹配的新闻" in r.text
    r = c.get("/search", params={"q": "轴承", "since": "not-a-date"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.text
    r = c.get("/search")
    assert "搜索档案" in r.text  # the empty state explains what to do


@pytest.mark.parametrize("q", ["' OR 1=1 --", '"', "*", "x" * 10_000, "<script>alert(1)</script>", "\x00",
                               "轴承 AND NOT", "tags : zzr410000", "%", "_", "\\"])
def test_hostile_search_inputs_are_ordinary_pages(web, q) -> None:
    c = web.client
    login(c, "reader")
    for params in ({"q": q}, {"q": q, "region": q[:50], "chain": q[:64], "source": q[:64], "language": q[:16],
                              "sort": "date", "page": "-5"}):
        r = c.get("/search", params=params)
        assert r.status_code == 200, r.text[:300]
        _no_raw_markup(r.text)
    r = c.get("/search", params={"q": q, "page": "abc", "event_type": "alliance"})
    assert r.status_code == 200


def test_stored_markup_is_escaped_on_every_page(web) -> None:
    c = web.client
    login(c, "admin")
    xss_id = web.seeded.articles["xss"]
    for path in ("/search?q=script", "/search?q=轴承&sort=date", f"/articles/{xss_id}", "/sources",
                 "/sources/xss-source", "/subscribers", "/subscribers/2", "/digests/preview",
                 "/search?source=xss-source", "/events"):
        r = c.get(path)
        assert r.status_code == 200, path
        _no_raw_markup(r.text)
    page = c.get(f"/articles/{xss_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;<mark>script</mark>&gt;" in c.get("/search", params={"q": "script"}).text
    assert "&lt;img src=x onerror=alert(2)&gt;日报" in c.get("/sources").text
    assert "&lt;b onmouseover=alert(3)&gt;" in c.get("/subscribers").text
    assert "script-src 'self'" in c.get("/search").headers["content-security-policy"]


def test_search_csv_is_formula_safe(web) -> None:
    with web.ctx.db.session() as s:
        src = s.get(Source, web.seeded.sources["luoyang-daily"])
        art = Article(source_id=src.id, url="https://x.example/f", canonical_url="https://x.example/f",
                      final_url="https://x.example/f", title='=HYPERLINK("http://evil","轴承")', text="轴承 公式",
                      text_normalized="轴承 公式", content_hash="f" * 16, language="zh")
        s.add(art)
        s.flush()
        index_article(s, art)
    c = web.client
    login(c, "reader")
    r = c.get("/search.csv", params={"q": "轴承"})
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    titles = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"轴承\")" in titles
    assert XSS_TITLE in titles  # CSV is data, not HTML: kept verbatim, and it is not a formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_pagination_links(web) -> None:
    c = web.client
    login(c, "reader")
    r = c.get("/search", params={"sort": "date", "per_page": "3", "region": "河南"})
    assert r.status_code == 200 and 'class="pager"' in r.text and "下一页" in r.text


def test_every_form_carries_the_session_csrf_token(web) -> None:
    import re

    c = web.client
    token = login(c, "admin")
    for path in ("/sources", "/sources/luoyang-daily", "/subscribers", "/subscribers/1", "/users", "/account",
                 "/search"):
        found = re.findall(r'name="csrf_token" value="([^"]*)"', c.get(path).text)
        assert found and set(found) == {token}, path


# --------------------------------------------------------------------------- article, events


def test_article_page_highlights_evidence(web) -> None:
    c = web.client
    login(c, "reader")
    r = c.get(f"/articles/{web.seeded.articles['ly-alliance']}")
    assert r.status_code == 200
    assert '<mark class="mark-event" title="event: alliance"' in r.text
    assert "title=\"event: alliance\" data-ref=\"event-1\"><mark class=\"mark-region\" title=\"region: 洛阳市\">洛阳</mark>" in r.text
    assert '<mark class="mark-event" title="event: target"' in r.text
    assert 'class="mark-chain"' in r.text or "mark-chain" in r.text
    assert "河南省工业和信息化厅" in r.text  # the story's other source
    assert "轴承产业产值：500亿元（2025）" in r.text  # stored as 5e10 CNY, shown as a reader writes it
    r = c.get(f"/articles/{web.seeded.articles['en-bearing']}", headers={"accept-language": "en-US"})
    assert "bearing output: 50 billion yuan" in r.text and "e+10" not in r.text
    assert c.get("/articles/999999").status_code == 404
    assert c.get("/articles/abc").status_code == 422


def test_events_tables_charts_and_csv(web) -> None:
    c = web.client
    login(c, "reader")
    r = c.get("/events", params={"type": "alliance"})
    assert r.status_code == 200 and "<svg" in r.text and "每月新成立产业联盟" in r.text
    assert r.text.count("洛阳轴承产业联盟在洛阳市正式成立") == 1  # one row per story
    assert "宁波市集成电路产业联盟" in r.text
    r = c.get("/events", params={"type": "alliance", "region": "河南", "since": "2025-10-01"})
    assert "宁波" not in r.text.split("<table")[1] and "洛阳轴承产业联盟" in r.text
    r = c.get("/events", params={"type": "target"})
    assert "各地区量化目标数" in r.text and "500亿元" in r.text and "30家" in r.text and "孟津区" in r.text
    assert "e+10" not in r.text
    r = c.get("/events", params={"type": "target", "year": "2026"})
    assert "规模以上轴承企业" in r.text and "机器人" not in r.text.split("<table")[1]
    r = c.get("/events", params={"type": "bogus"})
    assert r.status_code == 400
    r = c.get("/events.csv", params={"type": "target"})
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["type", "name", "region_code"] and len(rows) >= 4
    r = c.get("/events", headers={"accept-language": "en-US"})
    assert "Alliances per month" in r.text


# --------------------------------------------------------------------------- sources


def test_add_source_shows_live_test_then_saves(editor, monkeypatch) -> None:
    web, token = editor
    c = web.client
    calls = []

    def fake_test(app, url, **overrides):
        calls.append((url, overrides))
        return _report(url, **overrides)

    monkeypatch.setattr(chainwatch.sources, "test_source", fake_test)
    url = "http://127.0.0.1:9/news/"  # add_source checks the address; loopback is allowed in tests
    r = c.post("/sources/new/test", data={"url": url, "encoding": "gb18030", "csrf_token": token})
    assert r.status_code == 200
    assert "测试结果" in r.text and "洛阳轴承产业链招商推介会举行" in r.text and "RSS/Atom" in r.text
    assert ">12<" in r.text  # links found
    assert 'href="javascript:' not in r.text
    _no_raw_markup(r.text)
    assert calls == [(url, {"encoding": "gb18030"})]
    r = c.post("/sources/new/add", data={"url": url, "encoding": "gb18030", "key": "new-site",
                                         "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/sources?msg=added&key=new-site"
    assert len(calls) == 1  # saved from the test just shown, not discovered again
    page = c.get("/sources?msg=added&key=new-site").text
    assert "已添加来源 new-site" in page and "测试" in page


def test_add_source_errors_are_shown_in_the_form(editor, monkeypatch) -> None:
    web, token = editor
    c = web.client

    def refuse(app, url, **overrides):
        raise SourceError("不是有效的网址: " + url)

    monkeypatch.setattr(chainwatch.sources, "test_source", refuse)
    r = c.post("/sources/new/test", data={"url": "ftp://<b>x</b>", "csrf_token": token})
    assert r.status_code == 400 and "不是有效的网址" in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text
    r = c.post("/sources/new/test", data={"url": "https://ok.example/", "max_pages": "many", "csrf_token": token})
    assert r.status_code == 400 and "max_pages" in r.text


def test_edit_disable_enable_crawl_source(editor) -> None:
    web, token = editor
    c = web.client
    r = c.get("/sources/luoyang-daily")
    assert r.status_code == 200 and "洛阳日报" in r.text
    r = c.post("/sources/luoyang-daily", data={"name": "洛阳日报社", "listing_urls": "https://a.example/1\nhttps://a.example/2",
                                               "max_pages": "5", "csrf_token": token})
    assert r.status_code == 303
    src = chainwatch.sources.get_source(web.ctx.db, "luoyang-daily")
    assert src.name == "洛阳日报社" and src.listing_urls == ["https://a.example/1", "https://a.example/2"]
    assert src.max_pages == 5
    assert c.post("/sources/luoyang-daily/disable", data={"csrf_token": token}).status_code == 303
    assert chainwatch.sources.get_source(web.ctx.db, "luoyang-daily").enabled is False
    assert "已停用" in c.get("/sources").text
    assert c.post("/sources/luoyang-daily/enable", data={"csrf_token": token}).status_code == 303
    r = c.post("/sources/luoyang-daily/crawl", data={"csrf_token": token})
    assert r.headers["location"] == "/sources?msg=crawl_started&key=luoyang-daily"
    assert c.get("/sources/nope").status_code == 404


def test_source_health_shown(editor) -> None:
    web, _ = editor
    r = web.client.get("/sources")
    assert "抓取状态" in r.text and "洛阳日报" in r.text and "从未" in r.text


# --------------------------------------------------------------------------- subscribers and digests


def test_subscribers_add_edit_delete_and_preview(editor) -> None:
    web, token = editor
    c = web.client
    r = c.post("/subscribers", data={"email": "wang@example.org", "name": "王<i>芳</i>", "regions": "410000",
                                     "chains": "bearings", "language": "zh", "frequency": "weekly",
                                     "csrf_token": token})
    assert r.status_code == 303
    page = c.get("/subscribers").text
    assert "wang@example.org" in page and "王&lt;i&gt;芳&lt;/i&gt;" in page
    r = c.post("/subscribers", data={"email": "not-an-email", "csrf_token": token})
    assert r.status_code == 400 and "not a valid email" in r.text
    from chainwatch import subscribers

    sub = next(s for s in subscribers.list_all(web.ctx) if s.email == "wang@example.org")
    r = c.post(f"/subscribers/{sub.id}", data={"email": "wang@example.org", "name": "王芳", "regions": "410300",
                                               "chains": "", "language": "en", "frequency": "daily",
                                               "csrf_token": token})
    assert r.status_code == 303
    changed = subscribers.get(web.ctx, sub.id)
    assert changed.regions == ("410300",) and changed.language == "en" and not changed.active
    r = c.get("/digests/preview", params={"email": "li@example.org"})
    assert r.status_code == 200 and "<iframe" in r.text and "sandbox" in r.text
    r = c.get("/digests/preview.html", params={"email": "li@example.org", "period": "2025-W42"})
    assert r.status_code == 200 and "sandbox" in r.headers["content-security-policy"]
    assert "轴承" in r.text or "洛阳" in r.text
    r = c.get("/digests/preview.html", params={"period": "garbage"})
    assert r.status_code == 400
    assert c.get("/deliveries").status_code == 200
    assert c.post(f"/subscribers/{sub.id}/delete", data={"csrf_token": token}).status_code == 303
    assert "wang@example.org" not in c.get("/subscribers").text


def test_xss_subscriber_name_in_digest_picker(editor) -> None:
    web, _ = editor
    page = web.client.get("/digests/preview").text
    assert XSS_SUBSCRIBER not in page and "&lt;b onmouseover=alert(3)&gt;" in page
    assert XSS_SOURCE not in web.client.get("/sources").text


# --------------------------------------------------------------------------- admin


def test_users_page_add_role_password_delete(web) -> None:
    c = web.client
    token = login(c, "admin")
    r = c.post("/users", data={"username": "zhang", "password": "long enough pw", "role": "editor",
                               "csrf_token": token})
    assert r.status_code == 303
    assert "zhang" in c.get("/users").text
    assert c.post("/users/zhang/role", data={"role": "reader", "csrf_token": token}).status_code == 303
    assert c.post("/users/zhang/password", data={"password": "another long pw", "csrf_token": token}).status_code == 303
    login(c, "zhang", "another long pw")
    token = login(c, "admin")
    assert c.post("/users/zhang/delete", data={"csrf_token": token}).status_code == 303
    r = c.post("/users", data={"username": "x y", "password": "long enough pw", "csrf_token": token})
    assert r.status_code == 400
    assert "database_url" in c.get("/settings").text


def test_language_toggle(web) -> None:
    c = web.client
    login(c, "reader")
    r = c.get("/lang", params={"to": "en", "next": "/search"})
    assert r.status_code == 303
    assert "Search the archive" in c.get("/search").text
    r = c.get("/lang", params={"to": "zh", "next": "https://evil.example/"})
    assert r.headers["location"] == "/search"
