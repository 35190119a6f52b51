"""Web security items not covered by test_web_auth.py / test_web_pages.py: the list of
state-changing routes is checked against the app's own routes (a new route cannot be missed),
CSRF on every one of them as enumerated from ``app.routes``, formula-safe CSV for every
dangerous prefix, escaped digests, and search input that never reaches SQL."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from test_web_auth import MUTATIONS
from web_seed import login, make_web

import chainwatch.crawling
import chainwatch.sources
from chainwatch import csvsafe
from chainwatch.search import index_article
from storage.models import Article, Source

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that change state but are reachable without a session on purpose (each checked below).
PUBLIC_MUTATIONS = {("POST", "/login")}
PARAMS = {"key": "luoyang-daily", "username": "reader", "token_id": "99"}


def _routes(routes, prefix: str = ""):
    """(method, path) of every route, through FastAPI's included routers, whatever the version."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
            continue
        methods = getattr(route, "methods", None)
        if methods:
            for method in methods:
                yield method, prefix + route.path
        elif getattr(route, "routes", None) is not None and not hasattr(route, "app"):
            yield from _routes(route.routes, prefix + getattr(route, "path", ""))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _concrete(path: str) -> str:
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: PARAMS.get(m.group(1), "1"), path)


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setattr(chainwatch.crawling, "start_crawl_process", lambda app, keys=None: 4242)
    monkeypatch.setattr(chainwatch.sources, "test_source",
                        lambda app, url, **kw: chainwatch.sources.DiscoveryReport(url=url, errors=["stub"]))
    return make_web(app)


def _mutating_routes(web) -> list[tuple[str, str]]:
    found = {(m, p) for m, p in _routes(web.client.app.routes) if m in MUTATING}
    assert len(found) >= 30, found  # the walk found the routers
    return sorted(found)


def test_every_mutating_route_is_in_the_role_and_csrf_lists(web) -> None:
    """test_web_auth.MUTATIONS (with the role each change needs) must name every route the app
    has: add a route without adding it there and this fails."""
    listed = {(m, _shape(re.sub(r"/(luoyang-daily|reader|1|99)(?=/|$)", "/{}", p))) for m, p, _, _ in MUTATIONS}
    missing = [(m, p) for m, p in _mutating_routes(web)
               if (m, _shape(p)) not in listed and (m, p) not in PUBLIC_MUTATIONS]
    assert not missing, f"state-changing routes missing from test_web_auth.MUTATIONS: {missing}"


def test_every_mutating_route_from_app_routes_refuses_missing_and_wrong_csrf(web) -> None:
    c = web.client
    login(c, "admin")
    for method, path in _mutating_routes(web):
        url = _concrete(path)
        for headers, data in (({}, {}), ({"X-CSRF-Token": "wrong"}, {"csrf_token": "wrong"})):
            if url.startswith("/api/"):
                r = c.request(method, url, json={}, headers=headers)
            else:
                r = c.request(method, url, data=data, headers=headers)
            assert r.status_code == 403, (method, url, headers, r.status_code)
    assert c.get("/api/me").status_code == 200  # no refused logout went through
    assert "luoyang-daily" in {s.key for s in chainwatch.sources.list_sources(web.ctx.db)}


def test_every_mutating_route_needs_a_session_or_token(web) -> None:
    c = web.client
    for method, path in _mutating_routes(web):
        if (method, path) in PUBLIC_MUTATIONS or path == "/logout":
            continue
        url = _concrete(path)
        r = c.request(method, url, json={}) if url.startswith("/api/") else c.request(method, url, data={})
        assert r.status_code in (303, 401, 403), (method, url, r.status_code)
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login")


# ----------------------------------------------------------------------------------------- CSV
@given(st.text())
def test_no_csv_cell_can_start_a_formula(text: str) -> None:
    cell = csvsafe.safe_cell(text)
    assert not str(cell).startswith(csvsafe.DANGEROUS_PREFIXES)
    assert str(cell) in (text, "'" + text)


FORMULAS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://evil.example\",\"轴承\")"]


def test_search_csv_neutralises_every_formula_prefix(web) -> None:
    with web.ctx.db.session() as s:
        src = s.get(Source, web.seeded.sources["luoyang-daily"])
        for i, title in enumerate(FORMULAS):
            art = Article(source_id=src.id, url=f"https://x.example/f{i}", canonical_url=f"https://x.example/f{i}",
                          final_url=f"https://x.example/f{i}", title=title, text="轴承 公式 注入",
                          text_normalized="轴承 公式 注入", content_hash=f"{i:x}" * 16, language="zh")
            s.add(art)
            s.flush()
            index_article(s, art)
    c = web.client
    login(c, "reader")
    checked = []
    for path in ("/search.csv", "/api/search.csv", "/api/search"):
        r = c.get(path, params={"q": "公式", "format": "csv"})
        if r.status_code == 404 or not r.headers.get("content-type", "").startswith("text/csv"):
            continue
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"), newline="")))
        cells = [cell for row in rows for cell in row]
        for formula in FORMULAS:
            assert "'" + formula in cells, (path, formula)
        assert not any(cell.startswith(csvsafe.DANGEROUS_PREFIXES) for cell in cells), path
        checked.append(path)
    assert "/search.csv" in checked
    r = c.get("/events.csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"), newline="")))
    assert not any(cell.startswith(csvsafe.DANGEROUS_PREFIXES) for row in rows for cell in row)


# ----------------------------------------------------------------------------------------- digests
def test_digest_html_escapes_stored_markup(web) -> None:
    from web_seed import XSS_SOURCE, XSS_SUBSCRIBER, XSS_TITLE

    c = web.client
    login(c, "editor")
    for email in ("li@example.org", "x@example.org"):
        r = c.get("/digests/preview.html", params={"email": email})
        assert r.status_code == 200, r.text[:300]
        for raw in (XSS_TITLE, XSS_SOURCE, XSS_SUBSCRIBER):
            assert raw not in r.text, (email, raw)
        assert "<script>alert(" not in r.text and "onerror=alert" not in r.text.replace("&lt;", "")
        assert "sandbox" in r.headers["content-security-policy"]


# ----------------------------------------------------------------------------------------- search and SQL
@pytest.mark.parametrize("q", ["'; DROP TABLE articles; --", "\" OR 1=1 --", "1) UNION SELECT password_hash FROM users --",
                               "轴承' OR '1'='1", "NEAR(轴承 AND", "{tags}: *", "\\'; DELETE FROM sources; --"])
def test_search_input_never_reaches_sql(web, q: str) -> None:
    def counts() -> tuple[int, int]:
        with web.ctx.db.session() as s:
            return (s.scalar(select(func.count()).select_from(Article)),
                    s.scalar(select(func.count()).select_from(Source)))

    before = counts()
    c = web.client
    login(c, "reader")
    for path in ("/search", "/api/search", "/search.csv", "/events"):
        r = c.get(path, params={"q": q, "region": q, "chain": q, "source": q, "sort": q, "since": "2025-01-01"})
        assert r.status_code in (200, 400), (path, r.status_code)
        assert "$argon2" not in r.text  # no password hash came back
        assert "Traceback" not in r.text and "OperationalError" not in r.text and "syntax error" not in r.text
    assert counts() == before
