"""Writing articles into the archive: one transaction per article, idempotent by canonical URL.

The crawler's store pipeline, ``retag`` and the tests call these functions; none
of them knows about Scrapy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import TextClause, delete, insert, or_, select, text, update
from sqlalchemy.orm import Session

from chainwatch import dedupe
from crawler.urls import canonical_url
from storage.models import (
    Article,
    ArticleChain,
    ArticleRegion,
    Event,
    LshBand,
    Story,
    UrlState,
)
from storage.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass
class PageRecord:
    """An extracted page ready to be stored."""

    source_id: int | None
    url: str
    final_url: str
    title: str
    text: str
    text_normalized: str
    language: str | None
    published: datetime | None
    author: str | None = None
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class StoreResult:
    status: Literal["new", "duplicate", "exists"]
    article_id: int
    story_id: int | None
    duplicate_of: int | None = None
    similarity: float | None = None


def find_existing(session: Session, urls: list[str]) -> int | None:
    keys = list({canonical_url(u) for u in urls})
    return session.scalar(
        select(Article.id).where(or_(Article.canonical_url.in_(keys), Article.url.in_(keys))).limit(1))


def known_urls(session: Session, urls: list[str], retry_budget: int = 3) -> set[str]:
    """The canonical forms of ``urls`` that need no fetch: stored articles and pages marked skipped
    (or failed ``retry_budget`` times)."""
    keys = {canonical_url(u) for u in urls}
    found: set[str] = set()
    key_list = list(keys)
    for i in range(0, len(key_list), 500):
        chunk = key_list[i : i + 500]
        found.update(session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(chunk))))
        found.update(session.scalars(select(Article.url).where(Article.url.in_(chunk))))
        found.update(session.scalars(select(UrlState.url).where(
            UrlState.url.in_(chunk),
            or_(UrlState.status == "skipped", UrlState.attempts >= retry_budget))))
    return found


def mark_url(session: Session, url: str, source_id: int | None, status: str, reason: str) -> None:
    """Remember a page that did not become an article: ``skipped`` (never again) or ``failed`` (retry)."""
    key = canonical_url(url)
    state = session.get(UrlState, key)
    if state is None:
        session.add(UrlState(url=key, source_id=source_id, status=status, reason=reason[:200], attempts=1))
    else:
        state.status, state.reason, state.attempts = status, reason[:200], state.attempts + 1


@lru_cache(maxsize=128)
def _bucket_query(pairs: int, limit: int, newest_first: bool) -> TextClause:
    # Written out once per number of pairs: building the same OR of 32-70 ``and_()`` clauses with
    # SQLAlchemy's expression language for every stored page cost more than running it.
    table = LshBand.__tablename__
    if newest_first:
        # The newest few of each bucket, read backwards along the primary key (band, bucket, article_id):
        # a popular bucket (a region and two common chains) grows with the archive, and sorting all of
        # its rows for every stored page would too.
        per_bucket = max(4, int(limit) // 4)
        parts = " UNION ".join(
            f"SELECT article_id FROM (SELECT article_id FROM {table} WHERE band = :b{i} AND bucket = :k{i} "
            f"ORDER BY article_id DESC LIMIT {per_bucket}) AS q{i}" for i in range(pairs))
        return text(f"SELECT article_id FROM ({parts}) AS newest ORDER BY article_id DESC LIMIT {int(limit)}")
    where = " OR ".join(f"(band = :b{i} AND bucket = :k{i})" for i in range(pairs))
    return text(f"SELECT DISTINCT article_id FROM {table} WHERE {where} LIMIT {int(limit)}")


@lru_cache(maxsize=8)
def _pg_bucket_query(limit: int, newest_first: bool) -> TextClause:
    # PostgreSQL: the buckets as two arrays, one statement whatever their number (a 50-branch UNION
    # or OR costs milliseconds to plan for every stored page); each bucket read along the primary key.
    table = LshBand.__tablename__
    per_bucket = max(4, int(limit) // 4) if newest_first else int(limit)
    inner = (f"SELECT article_id FROM {table} l WHERE l.band = k.band AND l.bucket = k.bucket "
             f"ORDER BY article_id DESC LIMIT {per_bucket}")
    order = " ORDER BY article_id DESC" if newest_first else ""
    return text(f"SELECT article_id FROM (SELECT DISTINCT q.article_id FROM unnest(CAST(:bands AS integer[]), "
                f"CAST(:buckets AS bigint[])) AS k(band, bucket) CROSS JOIN LATERAL ({inner}) q) c{order} "
                f"LIMIT {int(limit)}")


def _bucket_candidates(session: Session, buckets: list[tuple[int, int]], limit: int,
                       newest_first: bool = False) -> list[int]:
    """Articles with any of ``(band, bucket)`` in lsh_bands. An OR of ``band = ? AND bucket = ?``:
    SQLite answers it from lsh_bands' primary key (MULTI-INDEX OR), PostgreSQL with a BitmapOr of
    index scans; a row-value IN list (``tuple_(...).in_``) makes SQLite scan the whole table."""
    if not buckets:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = _pg_bucket_query(limit, newest_first)
        return list(session.scalars(query, {"bands": [b for b, _ in buckets], "buckets": [k for _, k in buckets]}))
    params: dict[str, int] = {}
    for i, (band, bucket) in enumerate(buckets):
        params[f"b{i}"], params[f"k{i}"] = band, bucket
    return list(session.scalars(_bucket_query(len(buckets), limit, newest_first), params))


def _find_story(session: Session, record: PageRecord, sig: dedupe.Signature) -> tuple[Article | None, float]:
    exact = session.scalars(
        select(Article).where(Article.content_hash == sig.content_hash).order_by(Article.id).limit(1)).first()
    if exact is not None:
        return exact, 1.0
    if not sig.minhash:
        return None, 0.0
    buckets = sig.buckets()
    candidate_ids = _bucket_candidates(session, buckets, 200)
    best: tuple[Article | None, float] = (None, 0.0)
    if not candidate_ids:
        return _find_by_facts(session, record, sig)
    rows = session.execute(
        select(Article.id, Article.minhash, Article.source_id).where(Article.id.in_(candidate_ids))).all()
    for art_id, minhash, source_id in rows:
        if not minhash:
            continue
        score = dedupe.similarity(sig.minhash, minhash)
        threshold = (dedupe.SAME_SOURCE_THRESHOLD if source_id == record.source_id
                     else dedupe.CROSS_SOURCE_THRESHOLD)
        if score >= threshold and score > best[1]:
            best = (session.get(Article, art_id), score)
    return best if best[0] is not None else _find_by_facts(session, record, sig)


def _find_by_facts(session: Session, record: PageRecord, sig: dedupe.Signature) -> tuple[Article | None, float]:
    """A translation: another language, published within weeks, sharing most of its figures."""
    buckets = sig.fact_buckets()
    if not buckets:
        return None, 0.0
    # the newest: a translation follows soon
    candidate_ids = _bucket_candidates(session, buckets, 50, newest_first=True)
    best_id, best_score = None, 0.0
    # the columns the test needs, not 50 whole articles (texts included) per stored page
    rows = session.execute(select(Article.id, Article.language, Article.published, Article.facts)
                           .where(Article.id.in_(candidate_ids))) if candidate_ids else []
    for art_id, language, published, facts in rows:
        if (language or "")[:2] == (record.language or "")[:2] or not facts:
            continue
        if record.published and published and abs(
                _naive(record.published) - _naive(published)).days > dedupe.FACT_MAX_DAYS:
            continue
        shared = dedupe.facts_match(sig.facts, facts)
        if shared > best_score:
            best_id, best_score = art_id, shared
    return (session.get(Article, best_id), best_score) if best_id is not None else (None, 0.0)


def store_page(session: Session, record: PageRecord, analysis: Any = None,
               sig: dedupe.Signature | None = None, segmented: tuple[str, str] | None = None) -> StoreResult:
    """Insert an article (and its story, tags and events) unless its URL is already stored.

    Runs inside the caller's transaction; the caller commits once, so a crash never
    leaves half an article. ``sig`` and ``segmented`` (title and body as the search index
    segments them) are computed here when the caller has not done it in a worker already.
    """
    canonical = canonical_url(record.final_url)
    requested = canonical_url(record.url)
    existing = find_existing(session, [canonical, requested])
    if existing is not None:
        return StoreResult("exists", existing, None)
    sig = (sig or dedupe.signature(record.text_normalized or record.text, record.language)).with_topics(analysis)
    match, score = _find_story(session, record, sig)
    new_story = match is None or match.story_id is None
    if not new_story:
        story = session.get(Story, match.story_id)
    else:
        story = Story(title=record.title, published=record.published, article_count=0)
        session.add(story)
        session.flush()
    article = Article(
        source_id=record.source_id, url=requested, canonical_url=canonical, final_url=record.final_url,
        title=record.title, author=record.author, published=record.published,
        fetched_at=record.fetched_at or utcnow(), language=record.language, text=record.text,
        text_normalized=record.text_normalized, content_hash=sig.content_hash, minhash=sig.minhash,
        facts=list(sig.facts) or None, story_id=story.id,
    )
    if analysis is not None:
        _set_tag_fields(article, analysis)  # in the INSERT, not an UPDATE after it
    session.add(article)
    session.flush()
    _attach_to_story(session, story, article, new_story=new_story)
    bands = [{"band": b, "bucket": k, "article_id": article.id}
             for b, k in dict.fromkeys(sig.buckets() + sig.fact_buckets())]
    if bands:  # one executemany, not a unit-of-work flush of 30-100 ORM objects
        session.execute(insert(LshBand), bands)
    session.execute(delete(UrlState).where(UrlState.url.in_({canonical, requested})))
    if analysis is not None:
        save_analysis(session, article, analysis, fresh=True)
    _index_for_search(session, article, segmented)
    status = "duplicate" if match is not None else "new"
    return StoreResult(status, article.id, story.id, match.id if match is not None else None,
                       score if match is not None else None)


def _attach_to_story(session: Session, story: Story, article: Article, new_story: bool = False) -> None:
    """Keep the story's first article the earliest published one; reposts point to it."""
    story.article_count = (story.article_count or 0) + 1
    first = session.get(Article, story.first_article_id) if story.first_article_id else None
    if first is None or _earlier(article, first):
        story.first_article_id = article.id
        story.title = article.title
        story.published = article.published
        if not new_story:  # a story created for this article has no other article to repoint
            session.execute(update(Article).where(Article.story_id == story.id, Article.id != article.id)
                            .values(duplicate_of_id=article.id))
        article.duplicate_of_id = None
    else:
        article.duplicate_of_id = first.id


def _earlier(a: Article, b: Article) -> bool:
    if a.published and b.published:
        return _naive(a.published) < _naive(b.published)
    return False


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(tz=None).replace(tzinfo=None)


def _index_for_search(session: Session, article: Article, segmented: tuple[str, str] | None = None) -> None:
    from chainwatch.search import index_article

    index_article(session, article, segmented)


LEVELS = {"province": 1, "prefecture": 2, "county": 3}


def _level(value: Any) -> int:
    return value if isinstance(value, int) else LEVELS.get(str(value), 0)


def _set_tag_fields(article: Article, analysis: Any) -> None:
    article.relevant = bool(analysis.relevant)
    article.relevance_score = float(analysis.relevance_score)
    article.tag_version = analysis.version
    article.tagged_at = utcnow()


def save_analysis(session: Session, article: Article, analysis: Any, *, fresh: bool = False) -> None:
    """Replace the article's regions, chains and events with those of ``analysis`` (a tagging.Analysis).

    ``fresh``: the article was inserted in this transaction with its tag fields already set
    (store_page), so there are no old tags to delete.
    """
    from tagging.gazetteer import Gazetteer

    gazetteer = Gazetteer.default()
    if not fresh:
        session.execute(delete(ArticleRegion).where(ArticleRegion.article_id == article.id))
        session.execute(delete(ArticleChain).where(ArticleChain.article_id == article.id))
        session.execute(delete(Event).where(Event.article_id == article.id))
        _set_tag_fields(article, analysis)
    rows: dict[str, ArticleRegion] = {}
    for tag in analysis.regions:
        rows[tag.code] = ArticleRegion(
            article_id=article.id, code=tag.code, role="subject", level=_level(tag.level), name=tag.name,
            score=tag.score, evidence=tag.evidence, start=tag.start, end=tag.end)
    for tag in analysis.regions:
        for code in gazetteer.ancestors(tag.code):
            if code not in rows:
                region = gazetteer.get(code)
                rows[code] = ArticleRegion(article_id=article.id, code=code, role="ancestor",
                                           level=_level(region.level) if region else 0,
                                           name=region.name if region else code)
    session.add_all(rows.values())
    seen_chains: set[str] = set()
    for chain in analysis.chains:
        if chain.slug in seen_chains:
            continue
        seen_chains.add(chain.slug)
        session.add(ArticleChain(article_id=article.id, slug=chain.slug, sector=chain.sector,
                                 score=chain.score, evidence=chain.evidence, start=chain.start, end=chain.end))
    for ev in analysis.events:
        name = ev.name
        if name and article.language == "zh-Hant":
            from tagging.normalize import original_form

            name = original_form(article.text, article.language, name)  # in the article's own script
        session.add(Event(
            article_id=article.id, story_id=article.story_id, type=ev.type, name=name,
            region_code=ev.region_code, event_date=_as_date(ev.date), metric=ev.metric,
            value=ev.value, unit=ev.unit, year=ev.year, chain_slug=ev.chain_slug,
            evidence=ev.evidence or "", start=ev.start, end=ev.end, tag_version=analysis.version))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
