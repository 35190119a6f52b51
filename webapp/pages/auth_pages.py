"""Login, logout, UI language, and the user's own account (password, API tokens)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from chainwatch import users
from chainwatch.users import LoginThrottled, UserError, UserView
from webapp.auth import (
    Reader,
    client_address,
    end_session,
    pre_session_csrf,
    principal,
    read_form,
    remember_pre_session_csrf,
    safe_next,
    start_session,
)
from webapp.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/search") -> Response:
    if principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    is_new = pre_session_csrf(request)
    response = render(request, "login.html", next=safe_next(next), error=None)
    if is_new:
        remember_pre_session_csrf(request, response)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    username = str(form.get("username") or "")[:100]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    ctx = request.app.state.ctx
    try:
        user = users.authenticate(ctx.db, username, password, client_address(request),
                                  limit=ctx.config.web.login_attempts_per_minute)
    except LoginThrottled as exc:
        pre_session_csrf(request)  # the form is shown again and needs its token
        response = render(request, "login.html", status_code=429, next=target, username=username,
                          error=("throttled", exc.retry_after))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except UserError:
        pre_session_csrf(request)
        return render(request, "login.html", status_code=401, next=target, username=username,
                      error=("wrong", 0))
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, user)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response


@router.get("/lang")
def set_lang(request: Request, to: str = "zh", next: str = "/search") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie("cw_lang", "en" if to == "en" else "zh", max_age=3600 * 24 * 365, samesite="lax",
                        path="/")
    return response


def _account(request: Request, user: UserView, status_code: int = 200, **extra) -> Response:
    tokens = users.list_tokens(request.app.state.ctx.db, user.username)
    return render(request, "account.html", status_code=status_code, tokens=tokens, **extra)


@router.get("/account")
def account(request: Request, user: Reader) -> Response:
    return _account(request, user, msg=request.query_params.get("msg"))


@router.post("/account/password")
async def change_password(request: Request, user: Reader) -> Response:
    form = await read_form(request)
    ctx = request.app.state.ctx
    try:
        users.authenticate(ctx.db, user.username, str(form.get("current") or ""), None,
                           limit=ctx.config.web.login_attempts_per_minute)
        if str(form.get("new") or "") != str(form.get("confirm") or ""):
            raise UserError("the two new passwords differ")
        users.set_password(ctx.db, user.username, str(form.get("new") or ""))
    except UserError as exc:
        return _account(request, user, status_code=400, error=str(exc))
    # Changing the password ended every session, this one included: log in again.
    return RedirectResponse("/login?next=/account", status_code=303)


@router.post("/account/tokens")
async def new_token(request: Request, user: Reader) -> Response:
    form = await read_form(request)
    token = users.create_token(request.app.state.ctx.db, user.username, str(form.get("name") or "api")[:100])
    return _account(request, user, new_token=token)


@router.post("/account/tokens/{token_id}/delete")
def delete_token(request: Request, token_id: int, user: Reader) -> Response:
    try:
        users.revoke_token(request.app.state.ctx.db, user.username, token_id)
    except UserError as exc:
        return _account(request, user, status_code=404, error=str(exc))
    return RedirectResponse("/account?msg=token_revoked", status_code=303)
