"""Admin: users and roles, and the effective settings (secrets masked)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from chainwatch import users
from chainwatch.users import ROLES, UserError
from webapp.auth import Admin, read_form
from webapp.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, status_code: int = 200, **extra: Any) -> Response:
    return render(request, "users.html", status_code=status_code, users=users.list_users(request.app.state.ctx.db),
                  roles=ROLES, msg=request.query_params.get("msg"), **extra)


@router.get("/users")
def users_page(request: Request, _user: Admin) -> Response:
    return _page(request)


@router.post("/users")
async def user_add(request: Request, _user: Admin) -> Response:
    form = await read_form(request)
    try:
        users.add_user(request.app.state.ctx.db, str(form.get("username") or ""), str(form.get("password") or ""),
                       str(form.get("role") or "reader"))
    except UserError as exc:
        return _page(request, status_code=400, error=str(exc), username=str(form.get("username") or "")[:100])
    return RedirectResponse("/users?msg=added", status_code=303)


def _do(request: Request, fn, msg: str) -> Response:
    try:
        fn()
    except UserError as exc:
        return _page(request, status_code=400, error=str(exc))
    return RedirectResponse(f"/users?msg={msg}", status_code=303)


@router.post("/users/{username}/role")
async def user_role(request: Request, username: str, _user: Admin) -> Response:
    role = str((await read_form(request)).get("role") or "")
    return _do(request, lambda: users.set_role(request.app.state.ctx.db, username, role), "role_changed")


@router.post("/users/{username}/password")
async def user_password(request: Request, username: str, _user: Admin) -> Response:
    password = str((await read_form(request)).get("password") or "")
    return _do(request, lambda: users.set_password(request.app.state.ctx.db, username, password), "password_set")


@router.post("/users/{username}/delete")
def user_delete(request: Request, username: str, _user: Admin) -> Response:
    return _do(request, lambda: users.remove_user(request.app.state.ctx.db, username), "removed")


@router.get("/settings")
def settings_page(request: Request, _user: Admin) -> Response:
    return render(request, "settings.html", values=request.app.state.ctx.config.as_dict(mask_secrets=True))
