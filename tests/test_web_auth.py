"""Accounts and access: login, sessions, expiry, throttling, roles on every route, CSRF on every change."""

from __future__ import annotations

import logging
import stat

import pytest
from sqlalchemy import update
from web_seed import PASSWORD, form_token, login, make_web

from chainwatch import users
from storage.models_web import WebSession
from storage.timeutil import utcnow

# Every page and what it needs. Paths with an id use the seeded archive's first article/subscriber.
PAGES = {
    "/search": "reader", "/search?q=轴承": "reader", "/search.csv?q=轴承": "reader", "/articles/1": "reader",
    "/events": "reader", "/events.csv": "reader", "/account": "reader",
    "/sources": "editor", "/sources/luoyang-daily": "editor", "/subscribers": "editor", "/subscribers/1": "editor",
    "/digests/preview": "editor", "/digests/preview.html": "editor", "/deliveries": "editor",
    "/users": "admin", "/settings": "admin",
}
API_GET = {
    "/api/me": "reader", "/api/search?q=x": "reader", "/api/articles/1": "reader", "/api/events": "reader",
    "/api/events/stats": "reader", "/api/sources": "editor", "/api/subscribers": "editor",
    "/api/digests/preview": "editor", "/api/deliveries": "editor", "/api/users": "admin",
}
# (method, path, form or json body, role): every state-changing route.
MUTATIONS = [
    ("POST", "/logout", {}, "reader"),
    ("POST", "/account/password", {"current": "x", "new": "y", "confirm": "y"}, "reader"),
    ("POST", "/account/tokens", {"name": "t"}, "reader"),
    ("POST", "/account/tokens/99/delete", {}, "reader"),
    ("POST", "/sources/new/test", {"url": "https://example.org/"}, "editor"),
    ("POST", "/sources/new/add", {"url": "https://example.org/"}, "editor"),
    ("POST", "/sources/luoyang-daily", {"name": "x"}, "editor"),
    ("POST", "/sources/luoyang-daily/disable", {}, "editor"),
    ("POST", "/sources/luoyang-daily/enable", {}, "editor"),
    ("POST", "/sources/luoyang-daily/crawl", {}, "editor"),
    ("POST", "/sources/luoyang-daily/delete", {}, "editor"),
    ("POST", "/crawl", {}, "editor"),
    ("POST", "/subscribers", {"email": "n@example.org"}, "editor"),
    ("POST", "/subscribers/1", {"email": "li@example.org"}, "editor"),
    ("POST", "/subscribers/1/delete", {}, "editor"),
    ("POST", "/users", {"username": "new", "password": PASSWORD}, "admin"),
    ("POST", "/users/reader/role", {"role": "editor"}, "admin"),
    ("POST", "/users/reader/password", {"password": PASSWORD + "2"}, "admin"),
    ("POST", "/users/reader/delete", {}, "admin"),
    ("POST", "/api/sources/test", {"url": "https://example.org/"}, "editor"),
    ("POST", "/api/sources", {"url": "https://example.org/"}, "editor"),
    ("PATCH", "/api/sources/luoyang-daily", {"name": "x"}, "editor"),
    ("POST", "/api/sources/luoyang-daily/enable", None, "editor"),
    ("POST", "/api/sources/luoyang-daily/disable", None, "editor"),
    ("DELETE", "/api/sources/luoyang-daily", None, "editor"),
    ("POST", "/api/crawl", {}, "editor"),
    ("POST", "/api/subscribers", {"email": "n@example.org"}, "editor"),
    ("PATCH", "/api/subscribers/1", {"email": "li@example.org"}, "editor"),
    ("DELETE", "/api/subscribers/1", None, "editor"),
    ("POST", "/api/users", {"username": "new", "password": PASSWORD}, "admin"),
    ("PATCH", "/api/users/reader", {"role": "editor"}, "admin"),
    ("DELETE", "/api/users/reader", None, "admin"),
    ("POST", "/api/tokens", {"name": "t"}, "reader"),
]


@pytest.fixture
def web(app, monkeypatch):
    import chainwatch.crawling
    import chainwatch.sources

    # Nothing here may reach the network or start a crawler.
    monkeypatch.setattr(chainwatch.crawling, "start_crawl_process", lambda app, keys=None: 4242)
    monkeypatch.setattr(chainwatch.sources, "test_source",
                        lambda app, url, **kw: chainwatch.sources.DiscoveryReport(url=url, errors=["stub"]))
    return make_web(app)


def _send(client, method: str, path: str, body, headers=None, token: str | None = None):
    if path.startswith("/api/"):
        return client.request(method, path, json=body, headers=headers or {})
    data = dict(body or {})
    if token is not None:
        data["csrf_token"] = token
    return client.request(method, path, data=data, headers=headers or {})


def test_anonymous_pages_redirect_to_login_and_api_says_401(web) -> None:
    c = web.client
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in API_GET:
        r = c.get(path)
        assert r.status_code == 401 and r.json()["detail"] == "authentication required", path
    for method, path, body, _ in MUTATIONS:
        if path == "/logout":
            continue
        r = _send(c, method, path, body)
        assert r.status_code in (303, 401), (method, path, r.status_code)
    assert c.get("/login").status_code == 200
    assert c.get("/api/openapi.json").status_code == 200


@pytest.mark.parametrize("role", ["reader", "editor", "admin"])
def test_each_role_sees_exactly_its_pages(web, role) -> None:
    c = web.client
    login(c, role)
    rank = {"reader": 0, "editor": 1, "admin": 2}
    for path, needed in {**PAGES, **API_GET}.items():
        r = c.get(path)
        allowed = rank[role] >= rank[needed]
        if allowed:
            assert r.status_code in (200, 400), (role, path, r.status_code)
        else:
            assert r.status_code == 403, (role, path, r.status_code)
            if not path.startswith("/api/"):
                assert "没有权限" in r.text


@pytest.mark.parametrize("role", ["reader", "editor"])
def test_forbidden_changes_are_refused_before_they_happen(web, role) -> None:
    c = web.client
    token = login(c, role)
    rank = {"reader": 0, "editor": 1, "admin": 2}
    for method, path, body, needed in MUTATIONS:
        if rank[role] >= rank[needed]:
            continue
        r = _send(c, method, path, body, headers={"X-CSRF-Token": token}, token=token)
        assert r.status_code == 403, (role, method, path, r.status_code)
    assert {u.username for u in users.list_users(web.ctx.db)} == {"reader", "editor", "admin"}
    assert "luoyang-daily" in {h["key"] for h in __import__("chainwatch.sources").sources.source_health(web.ctx.db)}


@pytest.mark.parametrize(("method", "path", "body", "role"), MUTATIONS)
def test_csrf_missing_or_wrong_is_403_on_every_change(web, method, path, body, role) -> None:
    c = web.client
    login(c, "admin")
    r = _send(c, method, path, body)
    assert r.status_code == 403, r.text[:300]
    r = _send(c, method, path, body, headers={"X-CSRF-Token": "wrong"}, token="wrong")
    assert r.status_code == 403
    assert users.list_users(web.ctx.db)  # nothing was done
    assert c.get("/api/me").status_code == 200  # still logged in: the refused logout did not happen


def test_csrf_right_token_passes(web) -> None:
    c = web.client
    token = login(c, "admin")
    assert _send(c, "POST", "/users/reader/role", {"role": "editor"}, token=token).status_code == 303
    assert users.get_user(web.ctx.db, "reader").role == "editor"
    r = c.patch("/api/users/reader", json={"role": "reader"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["role"] == "reader"


def test_login_form_needs_its_csrf_token(web) -> None:
    c = web.client
    c.get("/login")
    r = c.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 403
    r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_wrong_password_and_rate_limit_per_user_and_per_address(web) -> None:
    c = web.client
    token = form_token(c.get("/login").text)
    limit = web.ctx.config.web.login_attempts_per_minute
    for _ in range(limit):
        r = c.post("/login", data={"username": "editor", "password": "nope-nope-nope", "csrf_token": token})
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = c.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "登录失败次数过多" in r.text and int(r.headers["Retry-After"]) > 0
    # The same address trying other names is throttled too.
    r = c.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    r = c.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token},
               headers={"accept-language": "en"})
    assert r.status_code == 429


def test_session_expiry_logout_and_tampering(web) -> None:
    c = web.client
    token = login(c, "reader")
    assert c.get("/search").status_code == 200
    with web.ctx.db.session() as s:
        s.execute(update(WebSession).values(expires_at=utcnow()))
    r = c.get("/search")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    token = login(c, "reader")
    cookie = c.cookies.get("cw_session")
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303
    c.cookies.set("cw_session", cookie)
    assert c.get("/search").status_code == 303  # the old cookie died with the session
    c.cookies.set("cw_session", cookie[:-3] + "abc")
    assert c.get("/api/me").status_code == 401


def test_cookie_flags(web, config) -> None:
    c = web.client
    token = form_token(c.get("/login").text)
    r = c.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": token})
    header = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("cw_session="))
    assert "HttpOnly" in header and "samesite=lax" in header.lower() and "Secure" not in header
    assert f"Max-Age={int(config.web.session_hours * 3600)}" in header


def test_secure_cookies_when_configured(tmp_path, db) -> None:
    from chainwatch.config import load_config
    from chainwatch.context import AppContext

    cfg = load_config(env={"CHAINWATCH_HOME": str(tmp_path / "h2"), "CHAINWATCH_WEB_SECURE_COOKIES": "1",
                           "CHAINWATCH_DATABASE_URL": db.url})
    web = make_web(AppContext(config=cfg, _db=db), hostile=False)
    c = web.client
    r = c.get("/login")
    assert "Secure" in r.headers["set-cookie"]
    assert (tmp_path / "h2" / "secret_key").exists()
    assert stat.S_IMODE((tmp_path / "h2" / "secret_key").stat().st_mode) == 0o600


def test_open_redirect_refused(web) -> None:
    c = web.client
    token = form_token(c.get("/login").text)
    r = c.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": token,
                               "next": "//evil.example/x"})
    assert r.headers["location"] == "/search"


def test_passwords_never_in_logs_or_pages(web, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    c = web.client
    secret = "Secret-Pass-123456"
    token = form_token(c.get("/login").text)
    r = c.post("/login", data={"username": "admin", "password": secret, "csrf_token": token})
    assert secret not in r.text
    token = login(c, "admin")
    r = c.post("/users", data={"username": "newbie", "password": secret, "csrf_token": token})
    assert r.status_code == 303
    r = c.post("/users", data={"username": "newbie", "password": secret, "csrf_token": token})  # duplicate
    assert r.status_code == 400 and secret not in r.text
    r = c.post("/users", data={"username": "short", "password": "123", "csrf_token": token})
    assert r.status_code == 400 and "123" not in r.text.split("</header>")[1].split("placeholder")[0]
    page = c.get("/users").text
    assert secret not in page
    assert secret not in caplog.text
    assert users.authenticate(web.ctx.db, "newbie", secret, None).username == "newbie"


def test_api_token_works_without_csrf_and_bad_tokens_are_401(web) -> None:
    c = web.client
    csrf = login(c, "editor")
    token = c.post("/api/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf}).json()["token"]
    c.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/search?q=轴承", headers=bearer).status_code == 200
    r = c.post("/api/sources/luoyang-daily/disable", headers=bearer)
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert c.get("/api/users", headers=bearer).status_code == 403
    assert c.get("/api/me", headers={"Authorization": "Bearer cw_wrong"}).status_code == 401


def test_password_change_ends_sessions(web) -> None:
    c = web.client
    token = login(c, "reader")
    r = c.post("/account/password", data={"current": PASSWORD, "new": "another password 1",
                                          "confirm": "another password 1", "csrf_token": token})
    assert r.status_code == 303
    assert c.get("/search").status_code == 303
    login(c, "reader", "another password 1")


def test_last_admin_cannot_be_removed_or_demoted(web) -> None:
    c = web.client
    token = login(c, "admin")
    r = c.post("/users/admin/role", data={"role": "reader", "csrf_token": token})
    assert r.status_code == 400 and "last admin" in r.text
    r = c.post("/users/admin/delete", data={"csrf_token": token})
    assert r.status_code == 400
