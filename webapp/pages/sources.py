"""Sources: health, add by URL with a live test first, edit overrides, enable/disable, crawl now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from webapp import services
from webapp.auth import Editor, read_form
from webapp.services import OVERRIDE_FIELDS, ServiceError
from webapp.templating import render

router = APIRouter(include_in_schema=False)


def _form_values(form: Any) -> dict[str, str]:
    return {k: str(form.get(k) or "")[:5000] for k in ("url", "key", *OVERRIDE_FIELDS)}


def _list_page(request: Request, status_code: int = 200, **extra: Any) -> Response:
    ctx = request.app.state.ctx
    try:
        health = services.source_health(ctx)
        unavailable = None
    except services.Unavailable as exc:
        health, unavailable = [], str(exc)
    extra.setdefault("values", {})
    return render(request, "sources.html", status_code=status_code, health=health, unavailable=unavailable,
                  msg=request.query_params.get("msg"), msg_key=request.query_params.get("key"), **extra)


@router.get("/sources")
def sources_page(request: Request, _user: Editor) -> Response:
    return _list_page(request)


@router.post("/sources/new/test")
async def sources_test(request: Request, _user: Editor) -> Response:
    form = await read_form(request)
    values = _form_values(form)
    try:
        overrides = services.overrides_from_form(values)
        report = services.test_source(request.app.state.ctx, values["url"], overrides)
    except ServiceError as exc:
        return _list_page(request, status_code=400, error=str(exc), values=values)
    return _list_page(request, report=report, values=values)


@router.post("/sources/new/add")
async def sources_add(request: Request, _user: Editor) -> Response:
    form = await read_form(request)
    values = _form_values(form)
    try:
        overrides = services.overrides_from_form(values)
        src = services.add_source(request.app.state.ctx, values["url"], overrides, key=values["key"] or None)
    except ServiceError as exc:
        return _list_page(request, status_code=400, error=str(exc), values=values)
    return RedirectResponse(f"/sources?msg=added&key={getattr(src, 'key', '')}", status_code=303)


@router.get("/sources/{key}")
def source_edit(request: Request, key: str, _user: Editor) -> Response:
    try:
        src = services.get_source(request.app.state.ctx, key)
    except ServiceError as exc:
        return render(request, "error.html", status_code=404, code=404, detail=str(exc))
    return render(request, "source_edit.html", src=src, error=None, values=None)


@router.post("/sources/{key}")
async def source_update(request: Request, key: str, _user: Editor) -> Response:
    form = await read_form(request)
    values = _form_values(form)
    ctx = request.app.state.ctx
    try:
        changes = services.overrides_from_form(values, keep_empty=True)
        changes = {k: v for k, v in changes.items() if not (k == "name" and not v)}  # a source keeps a name
        services.update_source(ctx, key, changes)
    except ServiceError as exc:
        try:
            src = services.get_source(ctx, key)
        except ServiceError:
            return render(request, "error.html", status_code=404, code=404, detail=str(exc))
        return render(request, "source_edit.html", status_code=400, src=src, error=str(exc), values=values)
    return RedirectResponse(f"/sources?msg=updated&key={key}", status_code=303)


def _action(request: Request, key: str, fn, msg: str) -> Response:
    try:
        fn()
    except ServiceError as exc:
        return _list_page(request, status_code=400, error=str(exc))
    return RedirectResponse(f"/sources?msg={msg}&key={key}", status_code=303)


@router.post("/sources/{key}/enable")
def source_enable(request: Request, key: str, _user: Editor) -> Response:
    return _action(request, key, lambda: services.set_enabled(request.app.state.ctx, key, True), "enabled")


@router.post("/sources/{key}/disable")
def source_disable(request: Request, key: str, _user: Editor) -> Response:
    return _action(request, key, lambda: services.set_enabled(request.app.state.ctx, key, False), "disabled")


@router.post("/sources/{key}/delete")
def source_delete(request: Request, key: str, _user: Editor) -> Response:
    return _action(request, key, lambda: services.remove_source(request.app.state.ctx, key), "removed")


@router.post("/sources/{key}/crawl")
def source_crawl(request: Request, key: str, _user: Editor) -> Response:
    return _action(request, key, lambda: services.start_crawl(request.app.state.ctx, [key]), "crawl_started")


@router.post("/crawl")
def crawl_all(request: Request, _user: Editor) -> Response:
    return _action(request, "", lambda: services.start_crawl(request.app.state.ctx, None), "crawl_started")
