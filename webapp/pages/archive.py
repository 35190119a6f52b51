"""Reading the archive: search, an article with its evidence, events tables and charts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from chainwatch import events_query
from chainwatch.events_query import EventQueryError
from chainwatch.search import EVENT_TYPES, SearchError, export_hits, hits_to_csv, search
from webapp.auth import Reader
from webapp.charts import bar_chart, column_chart
from webapp.forms import event_filter, search_query
from webapp.templating import render, ui_lang
from webapp.views import article_view

router = APIRouter(include_in_schema=False)


def csv_response(body: str, filename: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _tz(request: Request) -> str:
    return request.app.state.ctx.config.timezone or "Asia/Shanghai"


@router.get("/")
def home(_user: Reader) -> Response:
    return RedirectResponse("/search", status_code=303)


@router.get("/search")
def search_page(request: Request, _user: Reader) -> Response:
    params = dict(request.query_params)
    try:
        q = search_query(params, _tz(request))
    except SearchError as exc:
        return render(request, "search.html", status_code=400, result=None, error=str(exc), params=params,
                      event_types=EVENT_TYPES)
    result = search(request.app.state.ctx.db, q) if q.q or q.filters() else None
    return render(request, "search.html", result=result, error=None, params=params, event_types=EVENT_TYPES)


@router.get("/search.csv")
def search_csv(request: Request, _user: Reader) -> Response:
    try:
        q = search_query(dict(request.query_params), _tz(request))
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from None
    return csv_response(hits_to_csv(export_hits(request.app.state.ctx.db, q)), "chainwatch-search.csv")


@router.get("/articles/{article_id}")
def article_page(request: Request, article_id: int, _user: Reader) -> Response:
    view = article_view(request.app.state.ctx.db, article_id)
    if view is None:
        raise HTTPException(404, "no such article")
    return render(request, "article.html", a=view)


@router.get("/events")
def events_page(request: Request, _user: Reader) -> Response:
    params = dict(request.query_params)
    db = request.app.state.ctx.db
    try:
        f = event_filter(params)
        page = events_query.list_events(db, f)
    except EventQueryError as exc:
        return render(request, "events.html", status_code=400, page=None, error=str(exc), params=params,
                      charts=[], event_types=EVENT_TYPES)
    lang_en = ui_lang(request) == "en"
    charts = []
    if f.type in (None, "alliance", "chain_chief"):
        sub = event_filter({**params, "type": f.type or "alliance"})
        title = ("Alliances per month" if lang_en else "每月新成立产业联盟") if sub.type == "alliance" else (
            "Chain-chief news per month" if lang_en else "每月链长制动态")
        charts.append((title, column_chart(events_query.per_month(db, sub), title)))
    if f.type in (None, "target"):
        sub = event_filter({**params, "type": "target"})
        title = "Targets by region" if lang_en else "各地区量化目标数"
        charts.append((title, bar_chart([(name, n) for _, name, n in events_query.by_region(db, sub)], title)))
    return render(request, "events.html", page=page, error=None, params=params, charts=charts,
                  event_types=EVENT_TYPES)


@router.get("/events.csv")
def events_csv(request: Request, _user: Reader) -> Response:
    try:
        rows = events_query.all_events(request.app.state.ctx.db, event_filter(dict(request.query_params)))
    except EventQueryError as exc:
        raise HTTPException(400, str(exc)) from None
    return csv_response(events_query.to_csv(rows), "chainwatch-events.csv")
