"""Writing articles into the archive: one transaction per article, idempotent by canonical URL.

The crawler's store pipeline, ``retag`` and the tests call these functions; none
of them knows about Scrapy.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Delete,
    Integer,
    LargeBinary,
    Select,
    String,
    TextualSelect,
    bindparam,
    column,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from chainwatch import dedupe
from crawler.urls import canonical_url
from storage.models import (
    Article,
    ArticleChain,
    ArticleRegion,
    ArticleSignature,
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
    return session.scalar(_existing_query(), {"keys": keys})


@lru_cache(maxsize=1)
def _existing_query() -> Select:
    """Built once, on the table (Core): building it for every stored page and running it through the
    ORM's select machinery cost more than the query."""
    articles = Article.__table__
    keys = bindparam("keys", expanding=True)
    return select(articles.c.id).where(or_(articles.c.canonical_url.in_(keys), articles.c.url.in_(keys))).limit(1)


@lru_cache(maxsize=1)
def _clear_url_states() -> Delete:
    return delete(UrlState.__table__).where(UrlState.__table__.c.url.in_(bindparam("urls", expanding=True)))


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


BAND_CANDIDATES = 200  # band candidates verified per lookup
FACT_CANDIDATES = 50  # the newest translation candidates (fact and topic buckets) per lookup


class StoryMatch(NamedTuple):
    """The stored article a page repeats: what store_page needs of it, read by the lookup itself
    (loading the whole ORM row, texts included, cost another query per duplicate)."""

    id: int
    story_id: int | None


# the lookup's columns, matched by position; a translation candidate's date and figures are left as the
# driver gives them (SQLite: text) and converted only when no band candidate matched (_as_datetime, _as_list)
_LOOKUP_COLUMNS = tuple(column(name, type_) for name, type_ in (
    ("kind", Integer()), ("id", Integer()), ("story_id", Integer()), ("source_id", Integer()),
    ("minhash", LargeBinary()), ("language", String()), ("published", NullType()), ("facts", NullType())))
_EXACT, _BAND, _FACT = 0, 1, 2


def _lookup_select(kind: int, ids_sql: str, fact_columns: bool, timestamp: str = "{}") -> str:
    """The candidates ``ids_sql`` with what their test reads: the signature, or the language, date and figures,
    from article_signatures (a narrow row each; in articles every candidate was a row among the texts).

    Translation candidates the test in _find_story would drop, in the page's own language or published
    months apart, are dropped first from ix_article_signatures_filter alone: only the rest are read from
    the table (the window, _fact_window, is wider than the test's, which stays the judge). ``timestamp``
    wraps the window's parameters (PostgreSQL: a cast, for a plan prepared once)."""
    table = ArticleSignature.__tablename__
    if not fact_columns:
        return (f"SELECT {kind} AS kind, a.article_id, a.story_id, a.source_id, a.minhash, NULL, NULL, NULL "
                f"FROM {table} a WHERE a.article_id IN ({ids_sql})")
    start, end = timestamp.format(":published_from"), timestamp.format(":published_to")
    return (f"SELECT {kind} AS kind, a.article_id, a.story_id, NULL, NULL, a.language, a.published, a.facts "
            f"FROM {table} a WHERE a.article_id IN (SELECT f.article_id FROM {table} f "
            f"WHERE f.article_id IN ({ids_sql}) AND f.language <> :page_language AND ({start} IS NULL "
            f"OR f.published IS NULL OR f.published BETWEEN {start} AND {end}))")


@lru_cache(maxsize=128)
def _sqlite_lookup(bands: int, facts: int) -> TextualSelect:
    """One statement for the whole check (SQLite): the exact copy, the band candidates with their
    signatures, the newest translation candidates with their figures. Written out once per number of
    buckets, and SQLite caches it prepared. ``band = ? AND bucket = ?`` ORed: SQLite answers it from
    lsh_bands' primary key (MULTI-INDEX OR); a row-value IN list makes it scan the whole table."""
    table = LshBand.__tablename__
    parts = [f"SELECT * FROM (SELECT {_EXACT} AS kind, id, story_id, NULL AS source_id, NULL AS minhash, "
             "NULL AS language, NULL AS published, NULL AS facts FROM articles "
             "WHERE content_hash = :content_hash ORDER BY id LIMIT 1)"]
    if bands:
        where = " OR ".join(f"(band = :b{i} AND bucket = :k{i})" for i in range(bands))
        parts.append(_lookup_select(
            _BAND, f"SELECT DISTINCT article_id FROM {table} WHERE {where} LIMIT {BAND_CANDIDATES}", False))
    if facts:
        # The newest few of each bucket, read backwards along the primary key (band, bucket, article_id):
        # a popular bucket (a region and two common chains) grows with the archive, and sorting all of
        # its rows for every stored page would too.
        per_bucket = max(4, FACT_CANDIDATES // 4)
        newest = " UNION ".join(
            f"SELECT article_id FROM (SELECT article_id FROM {table} WHERE band = :fb{i} AND bucket = :fk{i} "
            f"ORDER BY article_id DESC LIMIT {per_bucket})" for i in range(facts))
        parts.append(_lookup_select(
            _FACT, f"SELECT article_id FROM ({newest}) ORDER BY article_id DESC LIMIT {FACT_CANDIDATES}", True))
    return text(" UNION ALL ".join(parts)).columns(*_LOOKUP_COLUMNS)


@lru_cache(maxsize=1)
def _pg_lookup() -> TextualSelect:
    """The same on PostgreSQL, one statement whatever the number of buckets (passed as arrays; a 50-branch
    UNION or OR cost milliseconds to plan for every stored page), so psycopg prepares it once and the
    server keeps its plan: each bucket read along lsh_bands' primary key by a LATERAL subquery."""
    table = LshBand.__tablename__
    per_bucket = max(4, FACT_CANDIDATES // 4)

    def bucket_ids(bands: str, buckets: str, per: int, limit: int, newest: bool) -> str:
        order = "ORDER BY article_id DESC " if newest else ""
        return (f"SELECT article_id FROM (SELECT DISTINCT q.article_id FROM unnest(CAST(:{bands} AS integer[]), "
                f"CAST(:{buckets} AS bigint[])) AS k(band, bucket) CROSS JOIN LATERAL (SELECT article_id "
                f"FROM {table} l WHERE l.band = k.band AND l.bucket = k.bucket {order}LIMIT {per}) q) c "
                f"{order}LIMIT {limit}")

    facts = _lookup_select(_FACT, bucket_ids("fbands", "fbuckets", per_bucket, FACT_CANDIDATES, True), True,
                           "CAST({} AS timestamptz)")
    return text(
        f"SELECT * FROM (SELECT {_EXACT} AS kind, id, story_id, CAST(NULL AS integer) AS source_id, "
        "CAST(NULL AS bytea) AS minhash, CAST(NULL AS varchar) AS language, CAST(NULL AS timestamptz) AS published, "
        "CAST(NULL AS json) AS facts FROM articles "
        "WHERE content_hash = :content_hash ORDER BY id LIMIT 1) e"
        f" UNION ALL {_lookup_select(_BAND, bucket_ids('bands', 'buckets', BAND_CANDIDATES, BAND_CANDIDATES, False), False)}"
        f" UNION ALL {facts}"
    ).columns(*_LOOKUP_COLUMNS)


def _find_story(session: Session, record: PageRecord, sig: dedupe.Signature) -> tuple[StoryMatch | None, float]:
    """The stored article ``record`` repeats, and how surely: its exact copy (1.0), else the best band
    candidate whose signature agrees (a repost), else the best translation candidate (shared figures,
    regions and chains). One statement fetches all three kinds of candidate with the columns their test
    needs: the exact copy and the translations are rare, but one round trip costs less than three."""
    buckets = sig.buckets()
    fact_buckets = sig.fact_buckets() if sig.minhash else []  # a short text matches only its exact copy
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = _pg_lookup()
        params: dict[str, Any] = {
            "content_hash": sig.content_hash,
            "bands": [b for b, _ in buckets], "buckets": [k for _, k in buckets],
            "fbands": [b for b, _ in fact_buckets], "fbuckets": [k for _, k in fact_buckets]}
    else:
        query = _sqlite_lookup(len(buckets), len(fact_buckets))
        params = {"content_hash": sig.content_hash}
        for i, (band, bucket) in enumerate(buckets):
            params[f"b{i}"], params[f"k{i}"] = band, bucket
        for i, (band, bucket) in enumerate(fact_buckets):
            params[f"fb{i}"], params[f"fk{i}"] = band, bucket
    params["page_language"] = (record.language or "")[:2]
    params["published_from"], params["published_to"] = _fact_window(record.published, postgres)
    rows = session.execute(query, params).all()
    best: tuple[StoryMatch | None, float] = (None, 0.0)
    for kind, art_id, story_id, source_id, minhash, *_ in rows:
        if kind == _EXACT:
            return StoryMatch(art_id, story_id), 1.0
        if kind != _BAND or not minhash or not sig.minhash:
            continue
        score = dedupe.similarity(sig.minhash, minhash)
        threshold = (dedupe.SAME_SOURCE_THRESHOLD if source_id == record.source_id
                     else dedupe.CROSS_SOURCE_THRESHOLD)
        if score >= threshold and score > best[1]:
            best = (StoryMatch(art_id, story_id), score)
    if best[0] is not None:
        return best
    # A translation: another language, published within weeks, sharing most of its figures.
    for kind, art_id, story_id, _source_id, _minhash, language, published, facts in rows:
        if kind != _FACT or (language or "")[:2] == (record.language or "")[:2] or not facts:
            continue
        if record.published and published and abs(
                _naive(record.published) - _naive(_as_datetime(published))).days > dedupe.FACT_MAX_DAYS:
            continue
        shared = dedupe.facts_match(sig.facts, _as_list(facts))
        if shared > best[1]:
            best = (StoryMatch(art_id, story_id), shared)
    return best


def _fact_window(published: datetime | None, postgres: bool) -> tuple[datetime | str | None, datetime | str | None]:
    """The dates a translation of a page published then can have: _find_story's test, widened by two days each
    way (more than any difference of time zones: SQLite keeps each date's own wall clock, compared as text)."""
    if published is None:
        return None, None
    margin = timedelta(days=dedupe.FACT_MAX_DAYS + 2)
    start, end = published - margin, published + margin
    if postgres:
        return start, end
    return start.strftime(_SQLITE_TIMESTAMP), end.strftime(_SQLITE_TIMESTAMP)


_SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite: "2023-03-06 02:00:00.000000"


def _as_list(value: list | str) -> list:
    return json.loads(value) if isinstance(value, str) else value


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
        facts=list(sig.facts) or None, story_id=story.id, duplicate_of_id=None,
    )
    if analysis is not None:
        _set_tag_fields(article, analysis)  # in the INSERT, not an UPDATE after it
    session.add(article)
    session.flush()
    session.execute(insert(ArticleSignature.__table__), {  # parameters, not .values(): ~0.06 ms, not 0.2-0.4
        "article_id": article.id, "story_id": story.id, "source_id": record.source_id,
        "language": (record.language or "")[:2], "published": record.published, "minhash": sig.minhash,
        "facts": article.facts})
    _attach_to_story(session, story, article, new_story=new_story)
    bands = [{"band": b, "bucket": k, "article_id": article.id}
             for b, k in dict.fromkeys(sig.buckets() + sig.fact_buckets())]
    if bands:  # one executemany, not a unit-of-work flush of 30-100 ORM objects
        session.execute(insert(LshBand.__table__), bands)
    session.execute(_clear_url_states(), {"urls": list({canonical, requested})})
    tags = save_analysis(session, article, analysis, fresh=True) if analysis is not None else None
    _index_for_search(session, article, segmented, tags, fresh=True)
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


def _index_for_search(session: Session, article: Article, segmented: tuple[str, str] | None = None,
                      tags: list[str] | None = None, fresh: bool = False) -> None:
    from chainwatch.search import index_article

    index_article(session, article, segmented, tags, fresh=fresh)


LEVELS = {"province": 1, "prefecture": 2, "county": 3}


def _level(value: Any) -> int:
    return value if isinstance(value, int) else LEVELS.get(str(value), 0)


def _set_tag_fields(article: Article, analysis: Any) -> None:
    article.relevant = bool(analysis.relevant)
    article.relevance_score = float(analysis.relevance_score)
    article.tag_version = analysis.version
    article.tagged_at = utcnow()


def save_analysis(session: Session, article: Article, analysis: Any, *, fresh: bool = False) -> list[str]:
    """Replace the article's regions, chains and events with those of ``analysis`` (a tagging.Analysis);
    returns the search index's tag tokens for them.

    ``fresh``: the article was inserted in this transaction with its tag fields already set
    (store_page), so there are no old tags to delete. Rows go in as one executemany per table, not
    as ORM objects: the unit of work cost more than the inserts.
    """
    from chainwatch.search import tag_tokens
    from tagging.gazetteer import Gazetteer

    gazetteer = Gazetteer.default()
    if not fresh:
        session.execute(delete(ArticleRegion).where(ArticleRegion.article_id == article.id))
        session.execute(delete(ArticleChain).where(ArticleChain.article_id == article.id))
        session.execute(delete(Event).where(Event.article_id == article.id))
        _set_tag_fields(article, analysis)
    regions: dict[str, dict[str, Any]] = {}
    for tag in analysis.regions:
        regions[tag.code] = {"article_id": article.id, "code": tag.code, "role": "subject", "level": _level(tag.level),
                             "name": tag.name, "score": tag.score, "evidence": tag.evidence, "start": tag.start,
                             "end": tag.end}
    for tag in analysis.regions:
        for code in gazetteer.ancestors(tag.code):
            if code not in regions:
                region = gazetteer.get(code)
                regions[code] = {"article_id": article.id, "code": code, "role": "ancestor",
                                 "level": _level(region.level) if region else 0, "name": region.name if region else code,
                                 "score": 0.0, "evidence": None, "start": None, "end": None}
    chains: dict[str, dict[str, Any]] = {}
    for chain in analysis.chains:
        chains.setdefault(chain.slug, {"article_id": article.id, "slug": chain.slug, "sector": chain.sector,
                                       "score": chain.score, "evidence": chain.evidence, "start": chain.start,
                                       "end": chain.end})
    events = []
    for ev in analysis.events:
        name = ev.name
        if name and article.language == "zh-Hant":
            from tagging.normalize import original_form

            name = original_form(article.text, article.language, name)  # in the article's own script
        events.append({
            "article_id": article.id, "story_id": article.story_id, "type": ev.type, "name": name,
            "region_code": ev.region_code, "event_date": _as_date(ev.date), "metric": ev.metric,
            "value": ev.value, "unit": ev.unit, "year": ev.year, "chain_slug": ev.chain_slug,
            "evidence": ev.evidence or "", "start": ev.start, "end": ev.end, "tag_version": analysis.version})
    for model, rows in ((ArticleRegion, list(regions.values())), (ArticleChain, list(chains.values())),
                        (Event, events)):
        if rows:  # Core insert of the table: the ORM's bulk path costs ~0.5 ms per call in bookkeeping
            session.execute(insert(model.__table__), rows)
    return tag_tokens(article, regions, [(c["slug"], c["sector"]) for c in chains.values()],
                      {e["type"] for e in events})


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
