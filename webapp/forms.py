"""Query strings and forms → core query objects (shared by the pages and the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainwatch.events_query import EventFilter, EventQueryError
from chainwatch.search import SearchError, SearchQuery, parse_date

SEARCH_FIELDS = ("q", "region", "chain", "event_type", "source", "language", "since", "until", "sort", "page")
EVENT_FIELDS = ("type", "region", "chain", "source", "since", "until", "year", "page")


def _str(params: Mapping[str, Any], name: str, limit: int = 200) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    value = str(value).strip()[:limit]
    return value or None


def _int(params: Mapping[str, Any], name: str, default: int | None, lo: int = 1, hi: int = 10**6) -> int | None:
    raw = _str(params, name, 12)
    if raw is None:
        return default
    try:
        return max(lo, min(int(raw), hi))
    except ValueError:
        return default


def search_query(params: Mapping[str, Any], tz: str, per_page: int = 20) -> SearchQuery:
    """Raises SearchError for malformed dates or an unknown sort/event type."""
    sort = _str(params, "sort", 20) or "relevance"
    q = SearchQuery(
        q=_str(params, "q", 10_000) or "", region=_str(params, "region", 50), chain=_str(params, "chain", 64),
        event_type=_str(params, "event_type", 20), source=_str(params, "source", 64),
        language=_str(params, "language", 16), since=parse_date(_str(params, "since", 20), "since"),
        until=parse_date(_str(params, "until", 20), "until"), sort=sort,
        page=_int(params, "page", 1, hi=1000) or 1, per_page=_int(params, "per_page", per_page, hi=100) or per_page,
        tz=tz)
    if q.sort not in ("relevance", "date"):
        raise SearchError("sort must be relevance or date")
    return q


def event_filter(params: Mapping[str, Any], per_page: int = 50) -> EventFilter:
    try:
        return EventFilter(
            type=_str(params, "type", 20), region=_str(params, "region", 50), chain=_str(params, "chain", 64),
            source=_str(params, "source", 64), since=parse_date(_str(params, "since", 20), "since"),
            until=parse_date(_str(params, "until", 20), "until"), year=_int(params, "year", None, 1900, 2200),
            page=_int(params, "page", 1) or 1, per_page=_int(params, "per_page", per_page, hi=500) or per_page)
    except SearchError as exc:
        raise EventQueryError(str(exc)) from None
