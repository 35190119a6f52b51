"""The JSON API under /api: the same operations and roles as the pages.

Authenticate with the session cookie (and the ``X-CSRF-Token`` header on any
change) or with ``Authorization: Bearer cw_...`` (create a token on /account).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from chainwatch import events_query, users
from chainwatch.events_query import EventQueryError
from chainwatch.search import SearchError, export_hits, hits_to_csv, search
from chainwatch.users import UserError, UserView
from webapp import services
from webapp.auth import Admin, Editor, Reader, principal
from webapp.forms import event_filter, search_query
from webapp.pages.archive import csv_response
from webapp.pages.digests import PREVIEW_CSP
from webapp.services import ServiceError, SubscriberForm
from webapp.views import article_view

router = APIRouter(prefix="/api")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _ctx(request: Request):
    return request.app.state.ctx


def _bad(exc: Exception, status: int = 400) -> HTTPException:
    return HTTPException(status_code=status, detail=str(exc))


# --------------------------------------------------------------------------- reading


@router.get("/me", tags=["account"])
def me(request: Request, user: Reader) -> dict[str, Any]:
    p = principal(request)
    return {"username": user.username, "role": user.role, "via": p.via if p else None,
            "csrf_token": p.csrf if p and p.via == "session" else None}


@router.get("/search", tags=["archive"], summary="Search the archive (one hit per story)")
def api_search(request: Request, _user: Reader, q: str = "", region: str | None = None, chain: str | None = None,
               event_type: str | None = None, source: str | None = None, language: str | None = None,
               since: str | None = Query(None, description="YYYY-MM-DD"), until: str | None = None,
               sort: str = "relevance", page: int = 1, per_page: int = 20,
               format: str = Query("json", pattern="^(json|csv)$")) -> Response:
    del q, region, chain, event_type, source, language, since, until, sort, page, per_page  # read from params
    tz = _ctx(request).config.timezone or "Asia/Shanghai"
    try:
        query = search_query(dict(request.query_params), tz)
        if format == "csv":
            return csv_response(hits_to_csv(export_hits(_ctx(request).db, query)), "chainwatch-search.csv")
        return JSONResponse(_jsonable(search(_ctx(request).db, query).to_dict()))
    except SearchError as exc:
        raise _bad(exc) from None


@router.get("/articles/{article_id}", tags=["archive"])
def api_article(request: Request, article_id: int, _user: Reader) -> dict[str, Any]:
    view = article_view(_ctx(request).db, article_id)
    if view is None:
        raise HTTPException(404, "no such article")
    return _jsonable(view.to_dict())


@router.get("/events", tags=["archive"], summary="Alliances, targets and chain-chief news, one per story")
def api_events(request: Request, _user: Reader, type: str | None = Query(None, pattern="^(alliance|target|chain_chief)$"),
               region: str | None = None, chain: str | None = None, source: str | None = None,
               since: str | None = None, until: str | None = None, year: int | None = None, page: int = 1,
               per_page: int = 50, format: str = Query("json", pattern="^(json|csv)$")) -> Response:
    del type, region, chain, source, since, until, year, page, per_page
    db = _ctx(request).db
    try:
        f = event_filter(dict(request.query_params))
        if format == "csv":
            return csv_response(events_query.to_csv(events_query.all_events(db, f)), "chainwatch-events.csv")
        result = events_query.list_events(db, f)
    except EventQueryError as exc:
        raise _bad(exc) from None
    return JSONResponse(_jsonable({"total": result.total, "page": result.page, "pages": result.pages,
                                   "region_name": result.region_name, "warnings": result.warnings,
                                   "events": [r.to_dict() for r in result.rows]}))


@router.get("/events/stats", tags=["archive"], summary="Events per month and per region (the charts' data)")
def api_event_stats(request: Request, _user: Reader) -> dict[str, Any]:
    db = _ctx(request).db
    try:
        f = event_filter(dict(request.query_params))
        return {"per_month": events_query.per_month(db, f),
                "by_region": [{"code": c, "name": n, "count": k} for c, n, k in events_query.by_region(db, f)]}
    except EventQueryError as exc:
        raise _bad(exc) from None


# --------------------------------------------------------------------------- sources


class SourceOverrides(BaseModel):
    name: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=16)
    feed_url: str | None = Field(None, max_length=2000)
    sitemap_url: str | None = Field(None, max_length=2000)
    listing_urls: list[str] | None = None
    allow_patterns: list[str] | None = None
    deny_patterns: list[str] | None = None
    encoding: str | None = Field(None, max_length=32)
    max_pages: int | None = Field(None, ge=1, le=10000)
    crawl_interval_hours: float | None = Field(None, gt=0, le=24 * 365)
    region_code: str | None = Field(None, pattern=r"^\d{6}$")


class SourceRequest(SourceOverrides):
    url: str = Field(..., max_length=2000)
    key: str | None = Field(None, max_length=64)


class CrawlRequest(BaseModel):
    sources: list[str] | None = None


def _overrides(body: SourceOverrides) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude={"url", "key"}).items() if v is not None}


@router.get("/sources", tags=["sources"], summary="Every source with its crawl health")
def api_sources(request: Request, _user: Editor) -> list[dict[str, Any]]:
    try:
        return _jsonable(services.source_health(_ctx(request)))
    except ServiceError as exc:
        raise _bad(exc, 503) from None


@router.post("/sources/test", tags=["sources"], summary="What the crawler would find at a URL (nothing saved)")
def api_source_test(request: Request, body: SourceRequest, _user: Editor) -> Any:
    try:
        return _jsonable(services.test_source(_ctx(request), body.url, _overrides(body)))
    except ServiceError as exc:
        raise _bad(exc) from None


@router.post("/sources", tags=["sources"], status_code=201, summary="Discover and save a source")
def api_source_add(request: Request, body: SourceRequest, _user: Editor) -> Any:
    try:
        src = services.add_source(_ctx(request), body.url, _overrides(body), key=body.key)
    except ServiceError as exc:
        raise _bad(exc) from None
    return {"key": src.key, "name": src.name, "strategy": src.strategy}


@router.patch("/sources/{key}", tags=["sources"], summary="Change a source's overrides")
def api_source_update(request: Request, _user: Editor, key: str, body: SourceOverrides) -> Any:
    try:
        src = services.update_source(_ctx(request), key, body.model_dump(exclude_unset=True))
    except ServiceError as exc:
        raise _bad(exc) from None
    return {"key": src.key, "name": src.name, "enabled": src.enabled}


@router.post("/sources/{key}/enable", tags=["sources"])
def api_source_enable(request: Request, key: str, _user: Editor) -> dict[str, Any]:
    try:
        services.set_enabled(_ctx(request), key, True)
    except ServiceError as exc:
        raise _bad(exc, 404) from None
    return {"key": key, "enabled": True}


@router.post("/sources/{key}/disable", tags=["sources"])
def api_source_disable(request: Request, key: str, _user: Editor) -> dict[str, Any]:
    try:
        services.set_enabled(_ctx(request), key, False)
    except ServiceError as exc:
        raise _bad(exc, 404) from None
    return {"key": key, "enabled": False}


@router.delete("/sources/{key}", tags=["sources"])
def api_source_delete(request: Request, key: str, _user: Editor) -> dict[str, Any]:
    try:
        services.remove_source(_ctx(request), key)
    except ServiceError as exc:
        raise _bad(exc, 404) from None
    return {"key": key, "removed": True}


@router.post("/crawl", tags=["sources"], status_code=202, summary="Start a crawl in the background")
def api_crawl(request: Request, body: CrawlRequest, _user: Editor) -> dict[str, Any]:
    try:
        pid = services.start_crawl(_ctx(request), body.sources or None)
    except ServiceError as exc:
        raise _bad(exc, 409) from None
    return {"started": True, "pid": pid}


# --------------------------------------------------------------------------- subscribers and digests


class SubscriberRequest(BaseModel):
    email: str = Field(..., max_length=320)
    name: str | None = Field(None, max_length=200)
    regions: list[str] = []
    chains: list[str] = []
    language: str = "zh"
    frequency: str = "weekly"
    active: bool | None = None


def _sub_form(body: SubscriberRequest) -> SubscriberForm:
    return SubscriberForm(email=body.email, name=body.name, regions=body.regions, chains=body.chains,
                          language=body.language, frequency=body.frequency)


def _sub_dict(sub: Any) -> dict[str, Any]:
    return _jsonable({k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(sub).items()
                      if k != "unsubscribe_token"})


@router.get("/subscribers", tags=["digests"])
def api_subscribers(request: Request, _user: Editor) -> list[dict[str, Any]]:
    try:
        return [_sub_dict(s) for s in services.list_subscribers(_ctx(request))]
    except ServiceError as exc:
        raise _bad(exc, 503) from None


@router.post("/subscribers", tags=["digests"], status_code=201)
def api_subscriber_add(request: Request, _user: Editor, body: SubscriberRequest) -> dict[str, Any]:
    try:
        return _sub_dict(services.add_subscriber(_ctx(request), _sub_form(body)))
    except ServiceError as exc:
        raise _bad(exc) from None


@router.patch("/subscribers/{sub_id}", tags=["digests"])
def api_subscriber_update(request: Request, _user: Editor, sub_id: int, body: SubscriberRequest) -> dict[str, Any]:
    try:
        return _sub_dict(services.update_subscriber(_ctx(request), sub_id, _sub_form(body), body.active))
    except ServiceError as exc:
        raise _bad(exc) from None


@router.delete("/subscribers/{sub_id}", tags=["digests"])
def api_subscriber_delete(request: Request, sub_id: int, _user: Editor) -> dict:
    try:
        services.remove_subscriber(_ctx(request), sub_id)
    except ServiceError as exc:
        raise _bad(exc, 404) from None
    return {"id": sub_id, "removed": True}


@router.get("/digests/preview", tags=["digests"], response_class=HTMLResponse,
            summary="A subscriber's digest for a period, as HTML")
def api_digest_preview(request: Request, _user: Editor, email: str | None = None, period: str | None = None) -> Response:
    try:
        html = services.preview_digest(_ctx(request), period, email)
    except ServiceError as exc:
        raise _bad(exc) from None
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_CSP})


@router.get("/deliveries", tags=["digests"])
def api_deliveries(request: Request, _user: Editor, email: str | None = None, period: str | None = None) -> list[dict[str, Any]]:
    try:
        return [_jsonable(dict(vars(d))) for d in services.deliveries(_ctx(request), email, period)]
    except ServiceError as exc:
        raise _bad(exc) from None


# --------------------------------------------------------------------------- users (admin)


class UserRequest(BaseModel):
    username: str = Field(..., max_length=100)
    password: str = Field(..., max_length=1024)
    role: str = "reader"


class UserChange(BaseModel):
    role: str | None = None
    password: str | None = Field(None, max_length=1024)
    active: bool | None = None


def _user_dict(u: UserView) -> dict[str, Any]:
    return _jsonable({"username": u.username, "role": u.role, "active": u.active, "created_at": u.created_at,
                      "last_login_at": u.last_login_at})


@router.get("/users", tags=["users"])
def api_users(request: Request, _user: Admin) -> list[dict[str, Any]]:
    return [_user_dict(u) for u in users.list_users(_ctx(request).db)]


@router.post("/users", tags=["users"], status_code=201)
def api_user_add(request: Request, body: UserRequest, _user: Admin) -> dict:
    try:
        return _user_dict(users.add_user(_ctx(request).db, body.username, body.password, body.role))
    except UserError as exc:
        raise _bad(exc) from None


@router.patch("/users/{username}", tags=["users"])
def api_user_change(request: Request, _user: Admin, username: str, body: UserChange) -> dict:
    db = _ctx(request).db
    try:
        if body.role is not None:
            users.set_role(db, username, body.role)
        if body.password is not None:
            users.set_password(db, username, body.password)
        if body.active is not None:
            users.set_active(db, username, body.active)
        return _user_dict(users.get_user(db, username))
    except UserError as exc:
        raise _bad(exc) from None


@router.delete("/users/{username}", tags=["users"])
def api_user_delete(request: Request, username: str, _user: Admin) -> dict:
    try:
        users.remove_user(_ctx(request).db, username)
    except UserError as exc:
        raise _bad(exc) from None
    return {"username": username, "removed": True}


class TokenRequest(BaseModel):
    name: str = Field("api", max_length=100)


@router.post("/tokens", tags=["account"], status_code=201, summary="A new API token for yourself (shown once)")
def api_token(request: Request, body: TokenRequest, user: Reader) -> dict:
    return {"token": users.create_token(_ctx(request).db, user.username, body.name)}
