"""Tables of events (alliances, targets, chain-chief news), their filters, charts data and CSV.

One row per fact per story: when two sources report the same alliance, the
table shows it once (the earliest event row), with the number of reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from chainwatch import csvsafe
from chainwatch.search import EVENT_TYPES, resolve_region
from storage.db import Database
from storage.models import Article, ArticleChain, Event, Source, Story
from storage.timeutil import as_utc

MAX_PER_PAGE = 500
MAX_EXPORT = 50000


class EventQueryError(ValueError):
    """A filter that cannot be applied; the message is for the user."""


@dataclass
class EventFilter:
    type: str | None = None
    region: str | None = None  # code or name; descendants included
    chain: str | None = None  # slug or sector
    source: str | None = None  # source key
    since: date | None = None
    until: date | None = None
    year: int | None = None  # a target's year
    page: int = 1
    per_page: int = 50


@dataclass
class EventRow:
    id: int
    type: str
    name: str | None
    region_code: str | None
    region_name: str | None
    event_date: date | None
    metric: str | None
    value: float | None
    unit: str | None
    year: int | None
    chain_slug: str | None
    evidence: str
    article_id: int
    article_title: str
    source_name: str | None
    url: str
    published: datetime | None
    reports: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["event_date"] = self.event_date.isoformat() if self.event_date else None
        out["published"] = self.published.isoformat() if self.published else None
        return out


@dataclass
class EventPage:
    rows: list[EventRow]
    total: int
    page: int
    pages: int
    region_name: str | None = None
    warnings: list[str] = field(default_factory=list)


def _region_prefix(code: str) -> str:
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def _base(s: Session, f: EventFilter, warnings: list[str]) -> tuple[Select[Any], str | None]:
    if f.type and f.type not in EVENT_TYPES:
        raise EventQueryError(f"event type must be one of {', '.join(EVENT_TYPES)}")
    if f.since and f.until and f.since > f.until:
        raise EventQueryError("the start date is after the end date")
    earlier = aliased(Event)
    # The first row of each fact within a story; later reports of it only add to `reports`.
    first_of_story = ~exists().where(
        earlier.story_id == Event.story_id, earlier.type == Event.type, earlier.id < Event.id,
        func.coalesce(earlier.name, "") == func.coalesce(Event.name, ""),
        func.coalesce(earlier.metric, "") == func.coalesce(Event.metric, ""),
        func.coalesce(earlier.value, -1.0) == func.coalesce(Event.value, -1.0))
    stmt = select(Event.id).join(Article, Article.id == Event.article_id).where(
        or_(Event.story_id.is_(None), first_of_story))
    region_name = None
    if f.type:
        stmt = stmt.where(Event.type == f.type)
    if f.region:
        found = resolve_region(s, f.region)
        if found is None:
            warnings.append(f"unknown region: {f.region[:50]}")
            stmt = stmt.where(Event.id.is_(None))
        else:
            region_name = found[1]
            stmt = stmt.where(Event.region_code.like(_region_prefix(found[0]) + "%"))
    if f.chain:
        stmt = stmt.where(or_(Event.chain_slug == f.chain, exists().where(
            ArticleChain.article_id == Event.article_id,
            or_(ArticleChain.slug == f.chain, ArticleChain.sector == f.chain))))
    if f.source:
        stmt = stmt.join(Source, Source.id == Article.source_id).where(Source.key == f.source)
    if f.since:
        stmt = stmt.where(or_(Event.event_date >= f.since,
                              and_(Event.event_date.is_(None), Article.published >= f.since)))
    if f.until:
        stmt = stmt.where(or_(Event.event_date <= f.until,
                              and_(Event.event_date.is_(None), func.date(Article.published) <= f.until)))
    if f.year:
        stmt = stmt.where(Event.year == f.year)
    return stmt, region_name


def region_names(s: Session, codes: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    try:
        from tagging.gazetteer import Gazetteer

        gaz = Gazetteer.default()
        for code in codes:
            region = gaz.get(code)
            if region is not None:
                names[code] = region.name
    except ImportError:  # gazetteer not installed: names as the tagger stored them
        pass
    missing = codes - names.keys()
    if missing:
        from storage.models import ArticleRegion

        for code, name in s.execute(select(ArticleRegion.code, func.max(ArticleRegion.name))
                                    .where(ArticleRegion.code.in_(missing)).group_by(ArticleRegion.code)):
            names[code] = name
    return names


def _rows(s: Session, ids: list[int]) -> list[EventRow]:
    if not ids:
        return []
    stmt = (select(Event, Article.title, Article.url, Article.final_url, Article.published, Source.name)
            .join(Article, Article.id == Event.article_id)
            .outerjoin(Source, Source.id == Article.source_id)
            .where(Event.id.in_(ids)))
    found = {ev.id: (ev, title, url, final, pub, sname) for ev, title, url, final, pub, sname in s.execute(stmt)}
    story_ids = {found[i][0].story_id for i in found if found[i][0].story_id}
    reports: dict[int, int] = {}
    if story_ids:
        reports = dict(s.execute(select(Story.id, Story.article_count).where(Story.id.in_(story_ids))).all())
    names = region_names(s, {found[i][0].region_code for i in found if found[i][0].region_code})
    out = []
    for i in ids:
        if i not in found:
            continue
        ev, title, url, final, pub, sname = found[i]
        out.append(EventRow(
            id=ev.id, type=ev.type, name=ev.name, region_code=ev.region_code,
            region_name=names.get(ev.region_code or ""), event_date=ev.event_date, metric=ev.metric,
            value=ev.value, unit=ev.unit, year=ev.year, chain_slug=ev.chain_slug, evidence=ev.evidence or "",
            article_id=ev.article_id, article_title=title or "", source_name=sname, url=final or url,
            published=as_utc(pub), reports=reports.get(ev.story_id or 0, 1) or 1))
    return out


def _newest_first() -> tuple[Any, ...]:
    """By the event's date, else its article's (a target has a year, rarely a date)."""
    return (func.coalesce(Event.event_date, func.date(Article.published)).desc().nulls_last(), Event.id.desc())


def list_events(db: Database, f: EventFilter) -> EventPage:
    f.per_page = max(1, min(int(f.per_page or 50), MAX_PER_PAGE))
    f.page = max(1, int(f.page or 1))
    warnings: list[str] = []
    with db.session() as s:
        base, region_name = _base(s, f, warnings)
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        pages = max(1, -(-total // f.per_page))
        page = min(f.page, pages)
        ids = list(s.scalars(base.order_by(*_newest_first()).offset((page - 1) * f.per_page).limit(f.per_page)))
        rows = _rows(s, ids)
    return EventPage(rows, total, page, pages, region_name, warnings)


def all_events(db: Database, f: EventFilter, limit: int = MAX_EXPORT) -> list[EventRow]:
    with db.session() as s:
        base, _ = _base(s, f, [])
        ids = list(s.scalars(base.order_by(*_newest_first()).limit(limit)))
        out: list[EventRow] = []
        for i in range(0, len(ids), 500):
            out.extend(_rows(s, ids[i:i + 500]))
    return out


def per_month(db: Database, f: EventFilter, months: int = 24) -> list[tuple[str, int]]:
    """Events per month (event date, else the article's), the last ``months`` months that have any."""
    with db.session() as s:
        base, _ = _base(s, f, [])
        rows = s.execute(select(Event.event_date, Article.published).join(Article, Article.id == Event.article_id)
                         .where(Event.id.in_(base.scalar_subquery()))).all()
    counts: Counter[str] = Counter()
    for event_date, published in rows:
        day = event_date or (published.date() if published else None)
        if day:
            counts[f"{day.year:04d}-{day.month:02d}"] += 1
    if not counts:
        return []
    keys = sorted(counts)
    # Fill the gaps so the chart's x axis is time, not just the months that had news.
    first_y, first_m = map(int, keys[0].split("-"))
    last_y, last_m = map(int, keys[-1].split("-"))
    series: list[tuple[str, int]] = []
    y, m = first_y, first_m
    while (y, m) <= (last_y, last_m):
        key = f"{y:04d}-{m:02d}"
        series.append((key, counts.get(key, 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return series[-months:]


def by_region(db: Database, f: EventFilter, top: int = 15) -> list[tuple[str, str, int]]:
    """(code, name, count) of events per region, most first."""
    with db.session() as s:
        base, _ = _base(s, f, [])
        rows = s.execute(select(Event.region_code, func.count()).where(Event.id.in_(base.scalar_subquery()),
                                                                      Event.region_code.is_not(None))
                         .group_by(Event.region_code).order_by(func.count().desc(), Event.region_code)
                         .limit(top)).all()
        names = region_names(s, {r[0] for r in rows})
    return [(code, names.get(code, code), n) for code, n in rows]


CSV_HEADER = ("type", "name", "region_code", "region", "event_date", "metric", "value", "unit", "year", "chain",
              "evidence", "article_title", "source", "url", "published", "reports")


def to_csv(rows: list[EventRow]) -> str:
    return csvsafe.to_csv(CSV_HEADER, ([r.type, r.name, r.region_code, r.region_name, r.event_date, r.metric,
                                        r.value, r.unit, r.year, r.chain_slug, r.evidence, r.article_title,
                                        r.source_name, r.url, r.published, r.reports] for r in rows))
