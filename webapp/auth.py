"""Who is asking, may they, and did the request come from our own pages.

* A browser is identified by the ``cw_session`` cookie: a random session id,
  signed with the secret key (itsdangerous, with its own expiry) and looked up
  by hash in ``web_sessions`` (server-side expiry, logout, password change).
* A script may instead send ``Authorization: Bearer cw_...`` (an API token).
* Every route declares its role with ``Depends(require_role("editor"))``.
* CSRF: every state-changing request from a cookie session carries the
  session's synchronizer token, as the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header (checked by :func:`csrf_guard`, installed app-wide so
  no route can forget it). The login form, before any session exists, is
  protected by a token in a signed pre-session cookie. Bearer-token calls need
  no CSRF token: browsers never attach those on their own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData
from starlette.responses import Response

from chainwatch import users
from chainwatch.users import UserView

SESSION_COOKIE = "cw_session"
PRE_CSRF_COOKIE = "cw_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    user: UserView
    via: str  # "session" | "token"
    csrf: str | None = None
    session_id: str | None = None


class NotAuthenticated(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


def _signer(request: Request, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt=salt)


def _session_seconds(request: Request) -> int:
    return int(request.app.state.ctx.config.web.session_hours * 3600)


def client_address(request: Request) -> str:
    # Behind a proxy, run uvicorn with --proxy-headers so this is the real client.
    return request.client.host if request.client else "unknown"


def principal(request: Request) -> Principal | None:
    """The authenticated caller, resolved once per request."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    found: Principal | None = None
    ctx = request.app.state.ctx
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = users.user_for_token(ctx.db, header[7:].strip())
        found = Principal(user, "token") if user else None
    else:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                session_id = _signer(request, "session").loads(raw, max_age=_session_seconds(request))
            except BadSignature:
                session_id = None
            info = users.get_session(ctx.db, session_id) if isinstance(session_id, str) else None
            if info is not None:
                found = Principal(info.user, "session", info.csrf_token, session_id)
    request.state.principal = found
    return found


def require_role(role: str):
    """A dependency that admits users with ``role`` or a higher one."""

    def check(request: Request) -> UserView:
        p = principal(request)
        if p is None:
            raise NotAuthenticated()
        if not p.user.can(role):
            raise Forbidden(role)
        return p.user

    check.__name__ = f"require_{role}"
    return Depends(check)


def pre_session_csrf(request: Request) -> bool:
    """Make the login form's CSRF token available to the template (``request.state.pre_csrf``).

    Returns True when the token is new and :func:`remember_pre_session_csrf` must set its cookie.
    """
    raw = request.cookies.get(PRE_CSRF_COOKIE)
    if raw:
        try:
            request.state.pre_csrf = _signer(request, "login-csrf").loads(raw, max_age=3600 * 12)
            return False
        except BadSignature:
            pass
    request.state.pre_csrf = secrets.token_urlsafe(24)
    return True


def remember_pre_session_csrf(request: Request, response: Response) -> None:
    set_cookie(request, response, PRE_CSRF_COOKIE, _signer(request, "login-csrf").dumps(request.state.pre_csrf),
               3600 * 12)


async def read_form(request: Request) -> FormData:
    """The request's form, parsed once. FastAPI may hand a dependency and the route different
    Request objects over one body stream, so the parsed form is kept in the shared request state;
    a second parse would wait forever for a body already read."""
    form = getattr(request.state, "form", None)
    if form is None:
        form = await request.form()
        request.state.form = form
    return form


async def csrf_guard(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    p = principal(request)
    if p is not None and p.via == "token":
        return
    if p is None:
        if request.url.path != "/login":
            return  # the route itself answers 401 / redirects to the login page
        raw = request.cookies.get(PRE_CSRF_COOKIE, "")
        try:
            expected = _signer(request, "login-csrf").loads(raw, max_age=3600 * 12) if raw else None
        except BadSignature:
            expected = None
    else:
        expected = p.csrf
    sent = request.headers.get("x-csrf-token")
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await read_form(request)
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong; reload the page and try again")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=bool(request.app.state.ctx.config.web.secure_cookies))


def start_session(request: Request, response: Response, user: UserView) -> None:
    ctx = request.app.state.ctx
    session_id, _ = users.create_session(ctx.db, user.id, ctx.config.web.session_hours, client_address(request))
    set_cookie(request, response, SESSION_COOKIE, _signer(request, "session").dumps(session_id),
               _session_seconds(request))
    response.delete_cookie(PRE_CSRF_COOKIE, path="/")


def end_session(request: Request, response: Response) -> None:
    p = principal(request)
    if p is not None and p.session_id:
        users.end_session(request.app.state.ctx.db, p.session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(value: str | None) -> str:
    """Only local paths: ``next=//evil.example`` must not become an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/search"
    return value


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


# Route parameter types: ``def page(user: Editor)`` admits editors and admins.
Reader = Annotated[UserView, require_role("reader")]
Editor = Annotated[UserView, require_role("editor")]
Admin = Annotated[UserView, require_role("admin")]
