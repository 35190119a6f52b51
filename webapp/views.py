"""View models shared by pages and the JSON API: an article with its evidence marked."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from chainwatch.events_query import region_names
from storage.db import Database
from storage.models import Article, ArticleChain, ArticleRegion, Event, Source
from storage.timeutil import as_utc

# When marks overlap, the more specific fact wins the colour (an event sentence inside a chain term).
KIND_PRIORITY = {"event": 3, "chain": 2, "region": 1}


@dataclass
class Mark:
    kind: str  # region | chain | event
    label: str  # what was found: 洛阳市, bearing, alliance
    start: int
    end: int
    evidence: str | None
    ref: str  # anchor id of the fact in the side list


@dataclass
class Segment:
    text: str
    marks: list[Mark] = field(default_factory=list)

    @property
    def top(self) -> Mark | None:
        return max(self.marks, key=lambda m: KIND_PRIORITY[m.kind]) if self.marks else None


@dataclass
class Run:
    """Consecutive segments under the same strongest mark: one highlight on the page, with the
    weaker marks inside it (a chain term within an event sentence) shown as inner highlights."""

    top: Mark | None
    parts: list[tuple[str, Mark | None]]


def runs(segs: list[Segment]) -> list[Run]:
    out: list[Run] = []
    for seg in segs:
        top = seg.top
        inner = [m for m in seg.marks if m is not top]
        inner_top = max(inner, key=lambda m: KIND_PRIORITY[m.kind]) if inner else None
        if out and out[-1].top is top:
            out[-1].parts.append((seg.text, inner_top))
        else:
            out.append(Run(top, [(seg.text, inner_top)]))
    return out


@dataclass
class ArticleView:
    id: int
    title: str
    url: str
    published: datetime | None
    fetched_at: datetime | None
    language: str | None
    source_key: str | None
    source_name: str | None
    text: str
    segments: list[Segment]
    regions: list[dict[str, Any]]
    chains: list[dict[str, Any]]
    events: list[dict[str, Any]]
    others: list[dict[str, Any]]  # the same story from other sources
    story_id: int | None

    @property
    def runs(self) -> list[Run]:
        return runs(self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "url": self.url, "story_id": self.story_id,
            "published": self.published.isoformat() if self.published else None,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "language": self.language, "source": {"key": self.source_key, "name": self.source_name},
            "text": self.text, "regions": self.regions, "chains": self.chains,
            "events": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.items()}
                       for e in self.events],
            "also_reported_by": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in o.items()}
                                 for o in self.others],
        }


def _valid(start: int | None, end: int | None, length: int) -> bool:
    return start is not None and end is not None and 0 <= start < end <= length


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Cut ``text`` at every mark boundary; each piece knows which marks cover it."""
    marks = [m for m in marks if _valid(m.start, m.end, len(text))]
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    out = []
    for a, b in itertools.pairwise(cuts):
        covering = [m for m in marks if m.start <= a and b <= m.end]
        out.append(Segment(text[a:b], covering))
    return out


def article_view(db: Database, article_id: int) -> ArticleView | None:
    with db.session() as s:
        row = s.execute(select(Article, Source.key, Source.name).outerjoin(Source, Source.id == Article.source_id)
                        .where(Article.id == article_id)).first()
        if row is None:
            return None
        art, skey, sname = row
        text = art.text or ""
        marks: list[Mark] = []
        regions = []
        for r in s.scalars(select(ArticleRegion).where(ArticleRegion.article_id == art.id)
                           .order_by(ArticleRegion.level, ArticleRegion.code)):
            ref = f"region-{r.code}"
            regions.append({"code": r.code, "name": r.name, "level": r.level, "role": r.role,
                            "evidence": r.evidence, "start": r.start, "end": r.end, "ref": ref})
            if r.role == "subject" and _valid(r.start, r.end, len(text)):
                marks.append(Mark("region", r.name, r.start, r.end, r.evidence, ref))
        chains = []
        for c in s.scalars(select(ArticleChain).where(ArticleChain.article_id == art.id)
                           .order_by(ArticleChain.score.desc())):
            ref = f"chain-{c.slug}"
            chains.append({"slug": c.slug, "sector": c.sector, "evidence": c.evidence, "start": c.start,
                           "end": c.end, "ref": ref})
            if _valid(c.start, c.end, len(text)):
                marks.append(Mark("chain", c.slug, c.start, c.end, c.evidence, ref))
        events = []
        evs = list(s.scalars(select(Event).where(Event.article_id == art.id).order_by(Event.start, Event.id)))
        names = region_names(s, {e.region_code for e in evs if e.region_code})
        for e in evs:
            ref = f"event-{e.id}"
            events.append({"id": e.id, "type": e.type, "name": e.name, "region_code": e.region_code,
                           "region_name": names.get(e.region_code or ""), "event_date": e.event_date,
                           "metric": e.metric, "value": e.value, "unit": e.unit, "year": e.year,
                           "chain_slug": e.chain_slug, "evidence": e.evidence, "start": e.start, "end": e.end,
                           "ref": ref})
            if _valid(e.start, e.end, len(text)):
                marks.append(Mark("event", e.type, e.start, e.end, e.evidence, ref))
        others = []
        if art.story_id is not None:
            for o_id, o_title, o_url, o_pub, o_name in s.execute(
                    select(Article.id, Article.title, Article.final_url, Article.published, Source.name)
                    .outerjoin(Source, Source.id == Article.source_id)
                    .where(Article.story_id == art.story_id, Article.id != art.id)
                    .order_by(Article.published, Article.id).limit(50)):
                others.append({"id": o_id, "title": o_title, "url": o_url, "published": as_utc(o_pub),
                               "source_name": o_name})
        return ArticleView(
            id=art.id, title=art.title or "", url=art.final_url or art.url, published=as_utc(art.published),
            fetched_at=as_utc(art.fetched_at), language=art.language, source_key=skey, source_name=sname,
            text=text, segments=segments(text, marks), regions=regions, chains=chains, events=events,
            others=others, story_id=art.story_id)
