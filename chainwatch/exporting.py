"""``chainwatch export``: one record per stored article, in the evaluation format (JSONL or CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Article, ArticleChain, ArticleRegion, Event, Story

CHINA = timezone(timedelta(hours=8))
FIELDS = ("url", "title", "published", "language", "relevant", "regions", "chains", "alliances", "targets",
          "duplicate_of", "source", "text")


def _published(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(CHINA)
    return local.date().isoformat() if local.time() == datetime.min.time() else local.isoformat()


def iter_records(db: Database, since: datetime | None = None, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Records in id order, fetched in batches so memory stays flat on a large archive."""
    last_id = 0
    while True:
        with db.session() as s:
            stmt = select(Article).where(Article.id > last_id).order_by(Article.id).limit(batch)
            if since is not None:
                stmt = stmt.where(Article.fetched_at >= since)
            articles = list(s.scalars(stmt))
            if not articles:
                return
            yield from _records(s, articles)
            last_id = articles[-1].id


def _records(s: Session, articles: list[Article]) -> Iterator[dict[str, Any]]:
    ids = [a.id for a in articles]
    regions: dict[int, list[dict[str, Any]]] = {}
    for r in s.scalars(select(ArticleRegion).where(ArticleRegion.article_id.in_(ids),
                                                   ArticleRegion.role == "subject")
                       .order_by(ArticleRegion.article_id, ArticleRegion.level.desc(), ArticleRegion.score.desc())):
        regions.setdefault(r.article_id, []).append({"code": r.code, "name": r.name, "level": r.level})
    chains: dict[int, list[str]] = {}
    for c in s.scalars(select(ArticleChain).where(ArticleChain.article_id.in_(ids)).order_by(ArticleChain.score.desc())):
        chains.setdefault(c.article_id, []).append(c.slug)
    events: dict[int, list[Event]] = {}
    for e in s.scalars(select(Event).where(Event.article_id.in_(ids)).order_by(Event.id)):
        events.setdefault(e.article_id, []).append(e)
    story_ids = {a.story_id for a in articles if a.story_id}
    firsts = dict(s.execute(select(Story.id, Story.first_article_id).where(Story.id.in_(story_ids))).all())
    first_urls = dict(s.execute(select(Article.id, Article.final_url)
                                .where(Article.id.in_([v for v in firsts.values() if v]))).all())
    for a in articles:
        first = firsts.get(a.story_id)
        evs = events.get(a.id, [])
        yield {
            "url": a.final_url,
            "title": a.title,
            "published": _published(a.published),
            "language": a.language,
            "relevant": bool(a.relevant),
            "regions": regions.get(a.id, []),
            "chains": chains.get(a.id, []),
            "alliances": [{"name": e.name, "region": e.region_code,
                           "date": e.event_date.isoformat() if e.event_date else None}
                          for e in evs if e.type == "alliance"],
            "targets": [{"region": e.region_code, "metric": e.metric, "value": e.value, "unit": e.unit,
                         "year": e.year} for e in evs if e.type == "target"],
            "chain_chief": [{"name": e.name, "region": e.region_code, "evidence": e.evidence}
                            for e in evs if e.type == "chain_chief"],
            "duplicate_of": first_urls.get(first) if first and first != a.id else None,
            "story_id": a.story_id,
            "source": a.source.key if a.source else None,
            "text": a.text,
        }


def write_jsonl(records: Iterator[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for rec in records:
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(records: Iterator[dict[str, Any]], out: IO[str]) -> int:
    from chainwatch.csvsafe import safe_cell

    writer = csv.writer(out)
    writer.writerow(FIELDS)
    n = 0
    for rec in records:
        row = []
        for f in FIELDS:
            value = rec.get(f)
            if f == "regions":
                value = ";".join(r["code"] for r in value)
            elif f == "chains":
                value = ";".join(value)
            elif isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False)
            row.append(safe_cell(value))
        writer.writerow(row)
        n += 1
    return n


def export_string(db: Database, fmt: str = "jsonl") -> str:
    buf = io.StringIO()
    (write_csv if fmt == "csv" else write_jsonl)(iter_records(db), buf)
    return buf.getvalue()
