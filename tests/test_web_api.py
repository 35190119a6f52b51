"""The JSON API: OpenAPI description, search (SQLite and PostgreSQL), events, sources, subscribers, users."""

from __future__ import annotations

import pytest
from web_seed import XSS_TITLE, login, make_web

import chainwatch.crawling
import chainwatch.sources
from chainwatch.context import AppContext
from chainwatch.sources import DiscoveryReport


@pytest.fixture
def web(app, monkeypatch):
    started = []
    monkeypatch.setattr(chainwatch.crawling, "start_crawl_process",
                        lambda app, keys=None: started.append(keys) or 4242)
    monkeypatch.setattr(chainwatch.sources, "test_source", lambda app, url, **kw: DiscoveryReport(
        url=url, strategy="sitemap", sitemap_url=url + "sitemap.xml", links_found=[url + "1.html"],
        samples=[{"url": url + "1.html", "title": "样例", "date": "2025-11-01", "length": 900,
                  "first_lines": "正文"}]))
    w = make_web(app)
    w.started = started
    return w


def _editor(web):
    token = login(web.client, "editor")
    return web.client, {"X-CSRF-Token": token}


def test_openapi_describes_the_api(web) -> None:
    spec = web.client.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/search", "/api/articles/{article_id}", "/api/events", "/api/sources", "/api/sources/test",
                 "/api/crawl", "/api/subscribers", "/api/digests/preview", "/api/users", "/api/tokens"):
        assert path in paths, path
    assert not any(p.startswith(("/search", "/login", "/sources")) for p in paths)  # pages stay out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_api_search_on_both_backends(request, config, backend) -> None:
    db = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    web = make_web(AppContext(config=config, _db=db))
    c = web.client
    login(c, "reader")
    body = c.get("/api/search", params={"q": "轴承", "region": "河南"}).json()
    titles = [h["title"] for h in body["hits"]]
    assert "孟津区出台轴承产业高质量发展实施方案" in titles and body["query"]["region"] == "河南"
    assert all(isinstance(h["snippet"], str) for h in body["hits"])
    assert any(part["hit"] for h in body["hits"] for part in h["snippet_parts"])
    assert "region" in body["facets"] and body["took_ms"] >= 0
    body = c.get("/api/search", params={"q": "bearings", "sort": "date"}).json()
    assert "Luoyang sets target for bearings output" in [h["title"] for h in body["hits"]]
    for hostile in ("' OR 1=1 --", '"', "*", "x" * 10_000):
        assert c.get("/api/search", params={"q": hostile}).status_code == 200
    assert c.get("/api/search", params={"since": "yesterday"}).status_code == 400
    r = c.get("/api/search", params={"q": "轴承", "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv") and XSS_TITLE in r.text


def test_api_article_and_events(web) -> None:
    c = web.client
    login(c, "reader")
    art = c.get(f"/api/articles/{web.seeded.articles['ly-alliance']}").json()
    assert art["source"]["name"] == "洛阳日报" and art["also_reported_by"][0]["source_name"] == "河南省工业和信息化厅"
    ev = next(e for e in art["events"] if e["type"] == "alliance")
    assert art["text"][ev["start"]:ev["end"]] == ev["evidence"]
    assert c.get("/api/articles/424242").status_code == 404
    events = c.get("/api/events", params={"type": "target", "region": "410000"}).json()
    assert {e["region_code"] for e in events["events"]} <= {"410300", "410308", "410100"} and events["total"] >= 3
    assert c.get("/api/events", params={"type": "nope"}).status_code == 422
    stats = c.get("/api/events/stats", params={"type": "alliance"}).json()
    assert ["2025-10", 1] in stats["per_month"]
    csv_text = c.get("/api/events", params={"format": "csv"}).text
    assert csv_text.startswith("\ufefftype,name")


def test_api_sources_test_add_update_crawl(web) -> None:
    c, h = _editor(web)
    url = "http://127.0.0.1:9/site/"
    report = c.post("/api/sources/test", json={"url": url}, headers=h).json()
    assert report["strategy"] == "sitemap" and report["samples"][0]["title"] == "样例"
    r = c.post("/api/sources", json={"url": url, "key": "site", "name": "测试站", "max_pages": 3}, headers=h)
    assert r.status_code == 201 and r.json()["key"] == "site"
    r = c.post("/api/sources", json={"url": url}, headers=h)
    assert r.status_code == 400 and "already" in r.json()["detail"]
    r = c.patch("/api/sources/site", json={"crawl_interval_hours": 12, "region_code": "410300"}, headers=h)
    assert r.status_code == 200
    assert c.patch("/api/sources/site", json={"region_code": "41"}, headers=h).status_code == 422
    assert c.post("/api/sources/site/disable", headers=h).json()["enabled"] is False
    health = {s["key"]: s for s in c.get("/api/sources").json()}
    assert health["site"]["enabled"] is False and health["site"]["strategy"] == "sitemap"
    r = c.post("/api/crawl", json={"sources": ["site"]}, headers=h)
    assert r.status_code == 202 and r.json()["pid"] == 4242 and web.started == [["site"]]
    assert c.delete("/api/sources/site", headers=h).json()["removed"] is True
    assert c.delete("/api/sources/site", headers=h).status_code == 404


def test_api_subscribers_preview_deliveries(web) -> None:
    c, h = _editor(web)
    r = c.post("/api/subscribers", json={"email": "a@example.org", "name": "甲", "regions": ["410000"]}, headers=h)
    assert r.status_code == 201 and "unsubscribe_token" not in r.json()
    sub_id = r.json()["id"]
    assert c.post("/api/subscribers", json={"email": "bad"}, headers=h).status_code == 400
    r = c.patch(f"/api/subscribers/{sub_id}", json={"email": "a@example.org", "language": "en"}, headers=h)
    assert r.json()["language"] == "en"
    assert any(s["email"] == "a@example.org" for s in c.get("/api/subscribers").json())
    r = c.get("/api/digests/preview", params={"email": "li@example.org", "period": "2025-W42"})
    assert r.status_code == 200 and "<html" in r.text.lower() and "sandbox" in r.headers["content-security-policy"]
    assert c.get("/api/deliveries").json() == []
    assert c.delete(f"/api/subscribers/{sub_id}", headers=h).json()["removed"] is True


def test_api_users_admin(web) -> None:
    token = login(web.client, "admin")
    c, h = web.client, {"X-CSRF-Token": token}
    r = c.post("/api/users", json={"username": "bot", "password": "long password 1", "role": "reader"}, headers=h)
    assert r.status_code == 201 and "password" not in r.json()
    assert c.post("/api/users", json={"username": "bot2", "password": "short"}, headers=h).status_code == 400
    assert c.patch("/api/users/bot", json={"role": "editor", "active": False}, headers=h).json()["active"] is False
    assert {u["username"] for u in c.get("/api/users").json()} >= {"bot", "admin"}
    assert c.delete("/api/users/bot", headers=h).status_code == 200
    assert c.delete("/api/users/admin", headers=h).status_code == 400  # the last admin stays
