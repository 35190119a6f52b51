"""Digests: subscribers, the preview of anyone's digest for any period, the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from webapp import services
from webapp.auth import Editor, read_form
from webapp.services import ServiceError, SubscriberForm
from webapp.templating import render

router = APIRouter(include_in_schema=False)

# The digest is our own HTML, but built from crawled text: shown in a sandboxed frame that may
# run nothing and load nothing but inline styles and images.
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


def _list(request: Request, status_code: int = 200, **extra: Any) -> Response:
    try:
        subs = services.list_subscribers(request.app.state.ctx)
        unavailable = None
    except services.Unavailable as exc:
        subs, unavailable = [], str(exc)
    extra.setdefault("values", {})
    return render(request, "subscribers.html", status_code=status_code, subscribers=subs,
                  unavailable=unavailable, msg=request.query_params.get("msg"), **extra)


@router.get("/subscribers")
def subscribers_page(request: Request, _user: Editor) -> Response:
    return _list(request)


@router.post("/subscribers")
async def subscriber_add(request: Request, _user: Editor) -> Response:
    form = dict(await read_form(request))
    try:
        services.add_subscriber(request.app.state.ctx, SubscriberForm.parse(form))
    except ServiceError as exc:
        return _list(request, status_code=400, error=str(exc), values={k: str(v)[:500] for k, v in form.items()})
    return RedirectResponse("/subscribers?msg=added", status_code=303)


@router.get("/subscribers/{sub_id}")
def subscriber_edit(request: Request, sub_id: int, _user: Editor) -> Response:
    try:
        sub = services.get_subscriber(request.app.state.ctx, sub_id)
    except ServiceError as exc:
        return render(request, "error.html", status_code=404, code=404, detail=str(exc))
    return render(request, "subscriber_edit.html", sub=sub, error=None)


@router.post("/subscribers/{sub_id}")
async def subscriber_update(request: Request, sub_id: int, _user: Editor) -> Response:
    form = dict(await read_form(request))
    ctx = request.app.state.ctx
    try:
        services.update_subscriber(ctx, sub_id, SubscriberForm.parse(form), active=form.get("active") == "on")
    except ServiceError as exc:
        try:
            sub = services.get_subscriber(ctx, sub_id)
        except ServiceError:
            return render(request, "error.html", status_code=404, code=404, detail=str(exc))
        return render(request, "subscriber_edit.html", status_code=400, sub=sub, error=str(exc))
    return RedirectResponse("/subscribers?msg=updated", status_code=303)


@router.post("/subscribers/{sub_id}/delete")
def subscriber_delete(request: Request, sub_id: int, _user: Editor) -> Response:
    try:
        services.remove_subscriber(request.app.state.ctx, sub_id)
    except ServiceError as exc:
        return _list(request, status_code=400, error=str(exc))
    return RedirectResponse("/subscribers?msg=removed", status_code=303)


@router.get("/digests/preview")
def preview_page(request: Request, _user: Editor, email: str = "", period: str = "") -> Response:
    ctx = request.app.state.ctx
    try:
        subs = services.list_subscribers(ctx)
    except services.Unavailable:
        subs = []
    periods = services.digest_periods(ctx, email) if email else []
    if period and periods and period not in periods:  # an older period asked for by link stays selected
        periods.insert(0, period[:20])
    return render(request, "digest_preview.html", subscribers=subs, email=email[:320], period=period[:20],
                  periods=periods)


@router.get("/digests/preview.html")
def preview_html(request: Request, _user: Editor, email: str = "", period: str = "") -> Response:
    try:
        html = services.preview_digest(request.app.state.ctx, period[:20] or None, email[:320] or None)
        status = 200
    except ServiceError as exc:
        from markupsafe import escape

        html, status = f"<p style='font-family:sans-serif;color:#a33'>{escape(str(exc))}</p>", 400
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PREVIEW_CSP})


@router.get("/deliveries")
def deliveries_page(request: Request, _user: Editor, email: str = "", period: str = "") -> Response:
    try:
        rows, error = services.deliveries(request.app.state.ctx, email[:320], period[:20]), None
    except ServiceError as exc:
        rows, error = [], str(exc)
    return render(request, "deliveries.html", rows=rows, email=email[:320], period=period[:20], error=error)
