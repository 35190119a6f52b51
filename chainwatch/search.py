"""Full-text search over the archive, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

How a query stays fast on a million articles:

* Words and filters are both index terms. Besides the segmented title and
  body, each article's index entry has a ``tags`` field with a token per
  region (its ancestors included), chain, sector, event type, source and
  language (see :func:`chainwatch.segment.tag_token`); a filter is one more
  term the full-text engine intersects, never a join over every match.
* The document key orders by date (``doc_key`` = minutes * 2**32 + article id),
  so "newest first" and date ranges walk the index in key order and stop at
  the LIMIT.
* On PostgreSQL, where every match GIN finds costs a heap read, a broad
  query never reads every match: dense matches walk the doc_key index, others
  are taken in doc_key slices from the newest (GIN bitmap AND a key range
  sized to hold about a window's worth), see :func:`_retrieve_postgres`.
* Everything after retrieval (story collapse, facets, snippets) works on a
  bounded window of at most :data:`WINDOW` candidates.
* Relevance is exact (FTS5 bm25 / ts_rank over every match) while the query's
  terms are selective. A very common term (发展, 产业链) would make that cost
  grow with the archive, so then the candidates are the newest
  :data:`RANK_WINDOW` matches, plus on SQLite the newest matches with the
  words in the headline, ranked by BM25 (SQLite, computed here from the
  indexed text) or ts_rank (PostgreSQL).

User input never reaches SQL or FTS syntax: segmentation keeps only word
characters, every token is quoted, and every value is a bound parameter.

Call :func:`index_article` whenever an article, its story or its tags change
(the store pipeline does, in the article's transaction); :func:`reindex_all`
rebuilds everything.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from chainwatch import segment
from storage.db import Database
from storage.models import Article, ArticleChain, ArticleRegion, Event, Source
from storage.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

WINDOW = 1000  # candidates collapsed into stories, paged and faceted
RANK_ALL = 2000  # PostgreSQL: up to this many matches are all ranked by relevance (<= COUNT_CAP)
COUNT_CAP = 2000  # "2,000+" beyond this: counting further costs a heap read per match on PostgreSQL
KEY_SHIFT = 2**32
EVENT_TYPES = ("alliance", "target", "chain_chief")
SORTS = ("relevance", "date")
DEFAULT_TZ = "Asia/Shanghai"
BM25_WEIGHTS = "4.0, 1.0, 0.0"  # title, body, tags: a word in the title counts four times


class SearchError(ValueError):
    """A query that cannot be run as asked (bad sort, bad date); the message is for the user."""


@dataclass
class SearchQuery:
    q: str = ""
    region: str | None = None  # code (410000, 41) or name (河南)
    chain: str | None = None  # chain slug or sector
    event_type: str | None = None  # alliance | target | chain_chief
    source: str | None = None  # source key
    language: str | None = None
    since: date | None = None  # inclusive, in ``tz``
    until: date | None = None  # inclusive, in ``tz``
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    tz: str = DEFAULT_TZ

    def filters(self) -> dict[str, Any]:
        """The active filters, for links that keep them."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("page", "per_page", "tz", "sort") and v not in (None, "")}


@dataclass
class AlsoReported:
    article_id: int
    source_name: str
    url: str


@dataclass
class Hit:
    article_id: int
    story_id: int | None
    title: str
    url: str
    source_key: str | None
    source_name: str
    published: datetime | None
    language: str | None
    title_parts: list[tuple[str, bool]]  # (text, highlighted)
    snippet: list[tuple[str, bool]]
    also: list[AlsoReported] = field(default_factory=list)
    score: float | None = None

    @property
    def snippet_text(self) -> str:
        return "".join(part for part, _ in self.snippet)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    query: SearchQuery
    hits: list[Hit]
    total: int  # matching articles, at most COUNT_CAP
    total_capped: bool
    stories_in_window: int
    page: int
    pages: int
    facets: dict[str, list[FacetValue]]
    facets_partial: bool  # counted over the first WINDOW matches only
    region_name: str | None = None
    warnings: list[str] = field(default_factory=list)
    terms: list[list[str]] = field(default_factory=list)
    took_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["query"] = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self.query).items()}
        for hit, raw in zip(self.hits, out["hits"], strict=True):
            raw["published"] = hit.published.isoformat() if hit.published else None
            raw["title_parts"] = [{"text": t, "hit": h} for t, h in hit.title_parts]
            raw["snippet"] = hit.snippet_text
            raw["snippet_parts"] = [{"text": t, "hit": h} for t, h in hit.snippet]
        return out


# --------------------------------------------------------------------------- indexing


def doc_key(article: Article) -> int:
    when = as_utc(article.published or article.fetched_at) or utcnow()
    minutes = max(int(when.timestamp() // 60), 0)
    return minutes * KEY_SHIFT + int(article.id)


def _date_bound(day: date, tz: str) -> int:
    """doc_key of local midnight starting ``day``."""
    start = datetime.combine(day, dtime.min, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return max(int(start.timestamp() // 60), 0) * KEY_SHIFT


def article_tags(session: Session, article: Article) -> list[str]:
    """Index tokens for everything a filter can ask about this article, from its stored tags."""
    aid = article.id
    regions = session.scalars(select(ArticleRegion.code).where(ArticleRegion.article_id == aid))
    chains = session.execute(select(ArticleChain.slug, ArticleChain.sector).where(ArticleChain.article_id == aid))
    events = session.scalars(select(Event.type).where(Event.article_id == aid).distinct())
    return tag_tokens(article, regions, chains, events)


def tag_tokens(article: Article, regions: Iterable[str], chains: Iterable[tuple[str, str | None]],
               event_types: Iterable[str]) -> list[str]:
    """Index tokens of an article's region codes (ancestors included), (chain, sector) pairs and
    event types; the store passes them from memory, reindexing reads them back (article_tags)."""
    tags = {segment.tag_token("r", c) for c in regions}
    for slug, sector in chains:
        tags.add(segment.tag_token("c", slug))
        tags.add(segment.tag_token("k", sector))
    tags.update(segment.tag_token("e", t) for t in event_types)
    if article.source_id is not None:
        tags.add(segment.tag_token("s", article.source_id))
    if article.language:
        tags.add(segment.tag_token("l", _lang(article.language)))
    return sorted(tags)


def _lang(language: str) -> str:
    """zh-Hant, zh_TW → zhhant/zhtw are kept; plain forms are what filters offer."""
    return language.strip().lower().replace("_", "-")


def index_article(session: Session, article: Article, segmented: tuple[str, str] | None = None,
                  tags: list[str] | None = None, fresh: bool = False) -> None:
    """(Re)index one article inside the caller's transaction. Idempotent. ``segmented``: the title
    and body already segmented (the crawl does it in its CPU workers, not in the database thread);
    ``tags``: its tag_tokens when the caller has them (else they are read back from the database);
    ``fresh``: the article was inserted in this transaction, so it has no index entry to replace."""
    if article.id is None:
        session.flush()
    if segmented is None:
        segmented = (segment.segment(article.title or ""), segment.segment(article.text_normalized or article.text or ""))
    title, body = segmented
    tag_text = " ".join(tags if tags is not None else article_tags(session, article))
    params = {"aid": article.id, "key": doc_key(article), "story": article.story_id,
              "title": title, "body": body, "tags": tag_text}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            "INSERT INTO search_docs (article_id, doc_key, story_id, tsv) VALUES (:aid, :key, :story, "
            "setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :body), 'B')"
            " || setweight(to_tsvector('simple', :tags), 'D')) "
            "ON CONFLICT (article_id) DO UPDATE SET doc_key = EXCLUDED.doc_key, "
            "story_id = EXCLUDED.story_id, tsv = EXCLUDED.tsv"), params)
        return
    # The delete trigger removes the old FTS row; its key may differ if the date changed. A new article
    # has none (search_docs rows go with their article: ON DELETE CASCADE).
    if not fresh:
        session.execute(text("DELETE FROM search_docs WHERE article_id = :aid"), params)
    session.execute(text("INSERT INTO search_docs (article_id, doc_key, story_id) VALUES (:aid, :key, :story)"),
                    params)
    session.execute(text("INSERT INTO search_fts (rowid, title, body, tags) VALUES (:key, :title, :body, :tags)"),
                    params)


def unindex_article(session: Session, article_id: int) -> None:
    session.execute(text("DELETE FROM search_docs WHERE article_id = :aid"), {"aid": article_id})


def reindex_all(db: Database, batch: int = 500, progress: Any = None) -> int:
    """Rebuild the whole index, one transaction per batch; returns the number of articles indexed."""
    with db.session() as s:
        if db.is_postgres:
            s.execute(text("TRUNCATE search_docs"))
        else:
            s.execute(text("DELETE FROM search_docs"))
            s.execute(text("DELETE FROM search_fts"))
    done, last = 0, 0
    while True:
        with db.session() as s:
            articles = s.scalars(select(Article).where(Article.id > last).order_by(Article.id).limit(batch)).all()
            for article in articles:
                index_article(s, article)
        if not articles:
            return done
        done += len(articles)
        last = articles[-1].id
        if progress:
            progress(done)


# --------------------------------------------------------------------------- filters


def _region_level(code: str) -> int:
    return 1 if code.endswith("0000") else 2 if code.endswith("00") else 3


@lru_cache(maxsize=512)
def _gazetteer_lookup(value: str) -> tuple[str, str] | None:
    try:
        from tagging.gazetteer import Gazetteer
    except ImportError:  # gazetteer not built yet: codes, and names already in the archive, still work
        return None
    try:
        found: Any = Gazetteer.default().find(value)
    except Exception as exc:
        log.debug("gazetteer lookup of %r failed: %s", value, exc)
        return None
    if isinstance(found, list | tuple):  # best match first (a province before a county of the same name)
        found = found[0] if found else None
    if isinstance(found, dict):
        code, name = found.get("code"), found.get("name")
    else:
        code, name = getattr(found, "code", None), getattr(found, "name", None)
    return (str(code)[:6], str(name or value)) if code else None


def resolve_region(session: Session, value: str) -> tuple[str, str] | None:
    """A region code and name from a code (410000, 4103, 41) or a name (河南, 河南省, 洛阳)."""
    value = (value or "").strip()[:50]
    if not value:
        return None
    if value.isdigit() and len(value) in (2, 4, 6):
        code = value.ljust(6, "0")
        name = session.scalar(select(ArticleRegion.name).where(ArticleRegion.code == code).limit(1))
        return code, name or code
    found = _gazetteer_lookup(value)
    if found:
        return found
    simplified = segment.to_simplified(value)
    names = [simplified] + [simplified + s for s in ("省", "市", "区", "县", "自治区")]
    rows = session.execute(select(ArticleRegion.code, ArticleRegion.name, ArticleRegion.level)
                           .where(ArticleRegion.name.in_(names)).limit(50)).all()
    if not rows:
        return None
    code, name, _ = min(rows, key=lambda r: (r.level, r.code))
    return code, name


@dataclass
class _Plan:
    """A query turned into backend terms: user word groups plus tag groups (any-of)."""

    groups: list[list[str]]
    tag_groups: list[list[str]]
    key_lo: int | None
    key_hi: int | None
    region: tuple[str, str] | None
    empty: bool = False  # a filter names nothing that exists: no results, no query


def _plan(session: Session, q: SearchQuery, warnings: list[str]) -> _Plan:
    tag_groups: list[list[str]] = []
    region = None
    empty = False
    if q.region:
        region = resolve_region(session, q.region)
        if region is None:
            warnings.append(f"unknown region: {q.region[:50]}")
            empty = True
        else:
            tag_groups.append([segment.tag_token("r", region[0])])
    if q.chain:
        tag_groups.append([segment.tag_token("c", q.chain), segment.tag_token("k", q.chain)])
    if q.event_type:
        if q.event_type not in EVENT_TYPES:
            raise SearchError(f"event type must be one of {', '.join(EVENT_TYPES)}")
        tag_groups.append([segment.tag_token("e", q.event_type)])
    if q.source:
        sid = session.scalar(select(Source.id).where(Source.key == q.source[:64]))
        if sid is None:
            warnings.append(f"unknown source: {q.source[:64]}")
            empty = True
        else:
            tag_groups.append([segment.tag_token("s", sid)])
    if q.language:
        tag_groups.append([segment.tag_token("l", _lang(q.language))])
    key_lo = _date_bound(q.since, q.tz) if q.since else None
    key_hi = _date_bound(q.until + timedelta(days=1), q.tz) if q.until else None
    return _Plan(segment.parse_query(q.q), tag_groups, key_lo, key_hi, region, empty)


# --------------------------------------------------------------------------- retrieval


@dataclass
class _Candidate:
    article_id: int
    story_id: int | None
    score: float | None


def _quote_fts(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts5_match(groups: list[list[str]], tag_groups: list[list[str]]) -> str:
    parts = ["{title body} : " + _quote_fts(" ".join(g)) for g in groups]
    for alternatives in tag_groups:
        parts.append("tags : (" + " OR ".join(_quote_fts(t) for t in alternatives) + ")")
    return " AND ".join(parts)


def _quote_ts(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(groups: list[list[str]], tag_groups: list[list[str]]) -> str:
    # No weight labels (:AB, :D): GIN cannot check weights, so a labelled term makes PostgreSQL
    # re-read every matching tsvector. Tags and words cannot meet anyway: words never start with
    # "zz" (segment.parse_query drops such tokens) and every tag does.
    parts = [" <-> ".join(_quote_ts(t) for t in g) for g in groups]
    for alternatives in tag_groups:
        parts.append("(" + " | ".join(_quote_ts(t) for t in alternatives) + ")")
    return " & ".join(f"({p})" for p in parts)


def _key_range_sql(column: str, plan: _Plan, params: dict[str, Any]) -> str:
    sql = ""
    if plan.key_lo is not None:
        sql += f" AND {column} >= :key_lo"
        params["key_lo"] = plan.key_lo
    if plan.key_hi is not None:
        sql += f" AND {column} < :key_hi"
        params["key_hi"] = plan.key_hi
    return sql


def _retrieve_sqlite(s: Session, plan: _Plan, sort: str) -> tuple[list[_Candidate], int]:
    params: dict[str, Any] = {"cap": COUNT_CAP + 1, "window": WINDOW, "rank_all": RANK_ALL}
    if not plan.groups and not plan.tag_groups:  # browse: newest first, straight off the key index
        where = "1=1" + _key_range_sql("doc_key", plan, params)
        total = s.scalar(text(f"SELECT count(*) FROM (SELECT 1 FROM search_docs WHERE {where} LIMIT :cap)"),
                         params)
        rows = s.execute(text(f"SELECT article_id, story_id FROM search_docs WHERE {where} "
                              "ORDER BY doc_key DESC LIMIT :window"), params).all()
        return [_Candidate(r[0], r[1], None) for r in rows], int(total or 0)
    params["m"] = _fts5_match(plan.groups, plan.tag_groups)
    where = "search_fts MATCH :m" + _key_range_sql("rowid", plan, params)
    total = int(s.scalar(text(f"SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE {where} LIMIT :cap)"),
                         params) or 0)
    if sort == "date" or not plan.groups:
        rows = s.execute(text(f"SELECT d.article_id, d.story_id FROM (SELECT rowid AS k FROM search_fts "
                              f"WHERE {where} ORDER BY rowid DESC LIMIT :window) c "
                              "JOIN search_docs d ON d.doc_key = c.k ORDER BY c.k DESC"), params).all()
        return [_Candidate(r[0], r[1], None) for r in rows], total
    dfs = [_df(s, [g], []) for g in plan.groups] + [_df(s, [], [t]) for t in plan.tag_groups]
    if max(dfs) <= BM25_MAX_DF:
        # Every term is selective: FTS5's bm25 over all matches, exact. (bm25 reads each term's
        # whole doclist for its IDF, which is why a common term takes the other road.)
        rows = s.execute(text(f"SELECT d.article_id, d.story_id, c.score FROM (SELECT rowid AS k, "
                              f"bm25(search_fts, {BM25_WEIGHTS}) AS score FROM search_fts WHERE {where} "
                              "ORDER BY score LIMIT :window) c JOIN search_docs d ON d.doc_key = c.k "
                              "ORDER BY c.score, c.k DESC"), params).all()
        # bm25() is "lower is better"; report it the usual way round.
        return [_Candidate(r[0], r[1], -r[2]) for r in rows], total
    return _rank_broad(s, plan, where, params, dfs[: len(plan.groups)]), total


BM25_MAX_DF = 30000  # beyond this many documents for one term, bm25's IDF scan costs too much
RANK_WINDOW = 1000  # newest matches (plus newest headline matches) ranked for a broad query


def _df(s: Session, groups: list[list[str]], tag_groups: list[list[str]]) -> int:
    """Documents with a term, counted up to BM25_MAX_DF + 1 (a walk that stops early)."""
    return int(s.scalar(text("SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH :m "
                             "LIMIT :cap)"), {"m": _fts5_match(groups, tag_groups), "cap": BM25_MAX_DF + 1}) or 0)


def _rank_broad(s: Session, plan: _Plan, where: str, params: dict[str, Any], dfs: list[int]) -> list[_Candidate]:
    """Relevance for a query with a very common term, at bounded cost.

    Candidates: the newest RANK_WINDOW matches and the newest WINDOW matches with the words in
    the headline (an older story *about* the topic still competes). They are scored here with
    the BM25 formula on the indexed text; IDF from document counts capped at BM25_MAX_DF, so a
    very common word weighs little, as it should.
    """
    title_match = " AND ".join(["{title} : " + _quote_fts(" ".join(g)) for g in plan.groups]
                               + ["tags : (" + " OR ".join(_quote_fts(t) for t in alt) + ")"
                                  for alt in plan.tag_groups])
    title_params = dict(params, mt=title_match)
    title_where = "search_fts MATCH :mt" + where[len("search_fts MATCH :m"):]
    keys = [r[0] for r in s.execute(text(f"SELECT rowid FROM search_fts WHERE {where} ORDER BY rowid DESC "
                                         "LIMIT :rw"), dict(params, rw=RANK_WINDOW))]
    keys += [r[0] for r in s.execute(text(f"SELECT rowid FROM search_fts WHERE {title_where} "
                                          "ORDER BY rowid DESC LIMIT :window"), title_params)]
    keys = list(dict.fromkeys(keys))
    # The FTS5 content table is a plain rowid table: a thousand lookups, not a scan.
    rows = s.execute(text("SELECT f.id, f.c0, f.c1, d.article_id, d.story_id FROM search_fts_content f "
                          "JOIN search_docs d ON d.doc_key = f.id WHERE f.id IN (SELECT value FROM json_each(:keys))"),
                     {"keys": json.dumps(keys)}).all()
    n_docs = max(int(s.scalar(text("SELECT max(article_id) FROM search_docs")) or 1), 1)
    idf = [math.log(1 + (n_docs - df + 0.5) / (df + 0.5)) for df in dfs]
    docs = []
    for key, title, body, aid, story in rows:
        t_pad, b_pad = f" {title} ", f" {body} "
        docs.append((key, aid, story, t_pad, b_pad, (len(title) + len(body)) / 2 or 1))
    avg_len = sum(d[5] for d in docs) / len(docs) if docs else 1
    k1, b = 1.2, 0.75
    scored = []
    for key, aid, story, t_pad, b_pad, length in docs:
        score = 0.0
        for group, weight in zip(plan.groups, idf, strict=True):
            needle = " " + " ".join(group) + " "
            tf = 4 * t_pad.count(needle) + b_pad.count(needle)
            score += weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_len))
        scored.append((score, key, aid, story))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    return [_Candidate(aid, story, score) for score, _, aid, story in scored[:WINDOW]]


_PG_STATS_TTL = 300.0  # seconds a process trusts its copy of the doc_key histogram
_pg_stats_cache: dict[str, tuple[float, float, float, list[int]]] = {}
PG_BUCKET_TRIES = 6  # date slices tried before the last one runs to the start of the range
# Walk the doc_key index when density² × docs exceeds this: the walk reads COUNT_CAP / density rows
# (a heap read and a tsvector test each, ~25 GIN postings' worth), the slices read every GIN posting
# of the match about twice (count, slice), so the walk wins when 25 × cap / d < 2 × d × docs.
PG_WALK_FACTOR = 12.5 * (COUNT_CAP + 1)
PG_HEAP_VS_BTREE = 10  # a heap row read costs about as much as this many doc_key index entries in a bitmap
PG_TRUST_ESTIMATE = 0.04  # at this share of the archive and above, a term is in PostgreSQL's common-lexeme stats


def _pg_doc_stats(s: Session) -> tuple[float, float, list[int]]:
    """Documents in the index, its heap pages and the doc_key histogram from the last ANALYZE (equal-frequency
    bounds), cached per database for a few minutes: what maps "the newest n documents" to a key."""
    bind = s.get_bind()
    url = str(getattr(bind, "url", bind))
    now = time.monotonic()
    cached = _pg_stats_cache.get(url)
    if cached and now - cached[0] < _PG_STATS_TTL:
        return cached[1], cached[2], cached[3]
    row = s.execute(text(
        "SELECT (SELECT reltuples FROM pg_class WHERE oid = 'search_docs'::regclass), "
        "(SELECT relpages FROM pg_class WHERE oid = 'search_docs'::regclass), "
        "(SELECT histogram_bounds::text FROM pg_stats WHERE schemaname = current_schema() "
        "AND tablename = 'search_docs' AND attname = 'doc_key')")).one()
    docs, pages = max(float(row[0] or 0), 0.0), max(float(row[1] or 0), 1.0)
    bounds = [int(v) for v in row[2].strip("{}").split(",")] if row[2] else []
    _pg_stats_cache[url] = (now, docs, pages, bounds)
    return docs, pages, bounds


def _key_below(bounds: list[int], key: int | None, docs: float, n: float) -> int | None:
    """The doc_key about ``n`` documents below ``key`` (None: above everything), by interpolating
    the equal-frequency histogram; None when that runs past the oldest document."""
    per = docs / (len(bounds) - 1)  # documents between two bounds
    top = len(bounds) - 1
    if key is None or key >= bounds[-1]:
        pos = float(top)
    else:
        i = bisect.bisect_right(bounds, key) - 1
        if i < 0:
            return None
        span = bounds[i + 1] - bounds[i]
        pos = i + ((key - bounds[i]) / span if span else 0.0)
    pos -= n / per
    if pos <= 0:
        return None
    i = int(pos)
    return int(bounds[i] + (bounds[i + 1] - bounds[i]) * (pos - i))


def _retrieve_postgres(s: Session, plan: _Plan, sort: str) -> tuple[list[_Candidate], int]:
    """The newest matches, or the best ranked among them, and the count up to COUNT_CAP + 1.

    Each match GIN finds costs a heap read (its doc_key, story), so a broad query must not
    touch every match. Three ways to take the newest ``wanted``, chosen by PostgreSQL's own
    row estimate for the full-text condition and, for rarer terms, a capped count:

    * dense matches (发展, 产业链): walk the doc_key index backwards testing each row; the same
      walk counts (it goes on to COUNT_CAP + 1 rows, which costs less than a separate count).
    * in between (a 1-10% word, a word + a chain, an event type, a word + since): doc_key slices
      from the newest (or from ``until``), each a BitmapAnd of the GIN bitmap and a doc_key range
      sized from the doc_key histogram to hold about ``wanted`` matches, so about ``wanted`` heap
      rows are read rather than every match.
    * sparse matches: one slice spanning everything, i.e. every match from GIN, sorted here.

    Same results as sorting every match (tests/test_search.py checks the three against it).
    """
    ranked = sort == "relevance" and bool(plan.groups)
    wanted = RANK_WINDOW if ranked else WINDOW
    # "cap": the count's limit; "most": enough rows to both count and fill the window.
    params: dict[str, Any] = {"cap": COUNT_CAP + 1, "most": max(COUNT_CAP + 1, wanted)}
    range_sql = _key_range_sql("doc_key", plan, params)
    if not plan.groups and not plan.tag_groups:  # browse: the newest off the key index, counted by the same walk
        rows = s.execute(text(f"SELECT article_id, story_id FROM search_docs WHERE TRUE{range_sql} "
                              "ORDER BY doc_key DESC LIMIT :most"), params).all()
        return [_Candidate(r[0], r[1], None) for r in rows[:WINDOW]], len(rows)
    params["tq"] = _tsquery(plan.groups, plan.tag_groups)
    match = "tsv @@ to_tsquery('simple', :tq)"
    score = "NULL"
    if ranked:
        # Rank by the user's words only; the tag terms would add the same to every match.
        params["uq"] = _tsquery(plan.groups, [])
        score = "ts_rank(tsv, to_tsquery('simple', :uq))"
    cols = f"article_id, story_id, doc_key, {score}"
    est = s.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_docs WHERE {match}"), params).scalar()
    est = json.loads(est) if isinstance(est, str) else est
    matches = float(est[0]["Plan"].get("Plan Rows", 0))  # over the whole archive
    docs, pages, bounds = _pg_doc_stats(s)
    docs = max(docs, matches, 1.0)
    rows: list[Any]
    if matches * matches >= PG_WALK_FACTOR * docs:
        rows = s.execute(text(f"SELECT {cols} FROM search_docs WHERE {match}{range_sql} "
                              "ORDER BY doc_key DESC LIMIT :most"), params).all()
        total = len(rows)
    elif matches >= PG_TRUST_ESTIMATE * docs:
        # A common term: PostgreSQL's estimate (from its most-common-lexeme statistics) sizes the
        # slices, which also count (up to COUNT_CAP + 1): a separate count would build the GIN bitmap
        # of every match once more, and for ~10^5 matches that is the dearest step.
        rows = _pg_slices(s, score, match, plan, params, params["most"], matches / docs, docs, bounds)
        total = len(rows)
    else:
        # Matches counted up to COUNT_CAP + 1 (a bitmap heap scan, in physical order, stopping
        # there). Where it stopped also tells how dense the matches are: cap matches in the first
        # ``block`` pages of ``pages``. That sizes the slices; PostgreSQL's estimate for a rarer
        # word is a guess (and for two words ignores that they go together: 产业 联盟).
        count, block = s.execute(text(f"SELECT count(*), (max(ctid)::text::point)[0] FROM (SELECT ctid "
                                      f"FROM search_docs WHERE {match} LIMIT :cap) c"), params).one()
        found = int(count or 0)
        if found > COUNT_CAP and block is not None:
            found = max(found, int(found * pages / (float(block) + 1)))
        if plan.key_lo is not None or plan.key_hi is not None:
            # The slices count within the range (a count would intersect GIN with the whole range).
            rows = _pg_slices(s, score, match, plan, params, params["most"], found / docs, docs, bounds)
            total = len(rows)
        else:
            # Up to RANK_ALL matches are all ranked: then all of them, else the newest ``wanted``.
            need = params["most"] if ranked and found <= RANK_ALL else wanted
            rows = _pg_slices(s, score, match, plan, params, need, found / docs, docs, bounds)
            total = found
    if not (ranked and total <= RANK_ALL):
        rows = sorted(rows, key=lambda r: -r[2])[:wanted]
    if ranked:
        rows = sorted(rows, key=lambda r: (-r[3], -r[2]))[:WINDOW]
    return [_Candidate(r[0], r[1], float(r[3]) if r[3] is not None else None) for r in rows], total


def _pg_slices(s: Session, score: str, match: str, plan: _Plan, params: dict[str, Any], wanted: int,
               density: float, docs: float, bounds: list[int]) -> list[Any]:
    """The newest ``wanted`` matches, taken slice by slice of doc_key from the newest."""
    out: list[Any] = []
    hi = plan.key_hi
    span = 1.3 * wanted / max(density, 1e-9)  # documents per slice, to hold about ``wanted`` matches
    for attempt in range(PG_BUCKET_TRIES):
        # Reading every match's heap row (GIN alone) beats a doc_key bitmap of ``span`` entries
        # while the matches number under span / PG_HEAP_VS_BTREE; so does a histogram-less archive.
        whole = attempt == PG_BUCKET_TRIES - 1 or len(bounds) < 3 or density * docs * PG_HEAP_VS_BTREE < span
        lo = None if whole else _key_below(bounds, hi, docs, span)
        if plan.key_lo is not None and (lo is None or lo <= plan.key_lo):
            lo = plan.key_lo
        p = dict(params, need=wanted - len(out), lo=lo, hi=hi)
        sql = f"SELECT article_id, story_id, doc_key, tsv FROM search_docs WHERE {match}"
        if lo is not None:
            sql += " AND doc_key >= :lo"
        if hi is not None:
            sql += " AND doc_key < :hi"
        # The score (ts_rank) only for the rows kept, not for every match the sort goes through.
        got = s.execute(text(f"SELECT article_id, story_id, doc_key, {score} FROM ({sql} "
                             "ORDER BY doc_key DESC LIMIT :need) c"), p).all()
        out.extend(got)
        if len(out) >= wanted or lo is None or lo == plan.key_lo:
            break
        # The next slice from the density this one showed.
        density = max(len(got), 1) / span
        span = min(span * 16, 1.3 * (wanted - len(out)) / density)
        hi = lo
    return out


# --------------------------------------------------------------------------- highlighting

_SNIPPET_CHARS = 160


def _term_pattern(groups: Sequence[Sequence[str]]) -> re.Pattern[str] | None:
    words = sorted({t for g in groups for t in g}, key=len, reverse=True)
    if not words:
        return None
    # English stems match their inflections (bearing → bearings); Chinese words match literally.
    alts = [re.escape(w) + (r"\w*" if w.isascii() else "") for w in words]
    return re.compile("|".join(alts), re.IGNORECASE)


def highlight_spans(text_value: str, normalized: str | None, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Spans of query words in ``text_value``. Matching runs on the simplified text when it
    lines up character for character with the original (traditional articles)."""
    if pattern is None or not text_value:
        return []
    haystack = text_value
    if normalized and len(normalized) == len(text_value):
        haystack = normalized
    elif segment._CJK.search(text_value):
        haystack = segment.to_simplified(text_value)
        if len(haystack) != len(text_value):
            haystack = text_value
    return [m.span() for m in pattern.finditer(haystack) if m.end() > m.start()]


def split_spans(text_value: str, spans: Iterable[tuple[int, int]], lo: int = 0,
                hi: int | None = None) -> list[tuple[str, bool]]:
    """``text_value[lo:hi]`` cut into (text, highlighted) parts; overlapping spans merge."""
    hi = len(text_value) if hi is None else hi
    parts: list[tuple[str, bool]] = []
    pos = lo
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, hi)
        if end <= start:
            continue
        if start > pos:
            parts.append((text_value[pos:start], False))
        parts.append((text_value[start:end], True))
        pos = end
    if pos < hi:
        parts.append((text_value[pos:hi], False))
    return parts


def make_snippet(text_value: str, normalized: str | None, pattern: re.Pattern[str] | None,
                 width: int = _SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """The window of ``width`` characters with the most query words, highlighted."""
    body = text_value or ""
    spans = highlight_spans(body, normalized, pattern)
    if not spans:
        cut = body[:width]
        return [(cut + ("…" if len(body) > width else ""), False)] if cut else []
    best_start, best_count = spans[0][0], 0
    for i, (start, _) in enumerate(spans):
        count = sum(1 for s2, _ in spans[i:] if s2 < start + width)
        if count > best_count:
            best_start, best_count = start, count
    lo = max(0, best_start - width // 4)
    hi = min(len(body), lo + width)
    parts = split_spans(body, spans, lo, hi)
    if lo > 0:
        parts.insert(0, ("…", False))
    if hi < len(body):
        parts.append(("…", False))
    return parts


# --------------------------------------------------------------------------- search


def _collapse(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Group candidates by story, keeping the order of each story's best match."""
    groups: dict[Any, list[_Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.story_id if c.story_id is not None else ("a", c.article_id), []).append(c)
    return list(groups.values())


def warm_up() -> None:
    """Load what the first search would wait for: jieba's dictionary (about a second) and the
    gazetteer that names region facets. The web app calls it in a thread as it starts."""
    from tagging.gazetteer import Gazetteer

    segment.tokenizer()
    Gazetteer.default()


def _region_name(code: str) -> str:
    from tagging.gazetteer import Gazetteer

    region = Gazetteer.default().get(code)
    return region.name if region is not None else code


def _top(counts: Counter[str], limit: int | None) -> list[tuple[str, int]]:
    """Most frequent first, ties by value (what ORDER BY n DESC, value gives)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _facets(s: Session, ids: list[int], region: tuple[str, str] | None) -> dict[str, list[FacetValue]]:
    out: dict[str, list[FacetValue]] = {"region": [], "chain": [], "sector": [], "event_type": [],
                                         "source": [], "language": []}
    if not ids:
        return out
    postgres = s.get_bind().dialect.name == "postgresql"
    # The id list travels as one parameter (a JSON array / a PostgreSQL array literal), not a thousand:
    # one cached statement instead of a thousand placeholders parsed on every search. The literal is
    # built here as text: psycopg's list adapter costs ~2 ms per 1,000 ids, for each facet query.
    ids_param = "{" + ",".join(map(str, ids)) + "}" if postgres else json.dumps(ids)

    def _in(column: str) -> str:
        if postgres:
            return f"{column} = ANY(CAST(:ids AS integer[]))"
        return f"{column} IN (SELECT value FROM json_each(:ids))"

    def run(sql: str, **extra: Any) -> list[Any]:
        return s.execute(text(sql), {"ids": ids_param, **extra}).all()

    # Drill down: provinces at first, then the children of the region being filtered on.
    level, prefix = 1, ""
    if region:
        code = region[0]
        level = min(_region_level(code) + 1, 3)
        prefix = code[:2] if code.endswith("0000") else code[:4]
    # (article_id, level, code) only, so the index answers; names come from the gazetteer
    rows = run(f"SELECT code, COUNT(DISTINCT article_id) AS n FROM article_regions "
               f"WHERE {_in('article_id')} AND level = :level AND code LIKE :prefix "
               "GROUP BY code ORDER BY n DESC, code LIMIT 15", level=level, prefix=prefix + "%")
    out["region"] = [FacetValue(r[0], _region_name(r[0]), r[1]) for r in rows if not region or r[0] != region[0]]
    # Chains and sectors from one read of article_chains, sources and languages from one read of
    # articles, counted here: each read is a thousand index probes, whatever is done with the rows.
    chains: Counter[str] = Counter()
    sectors: dict[str, set[int]] = {}
    for aid, slug, sector in run(f"SELECT article_id, slug, sector FROM article_chains WHERE {_in('article_id')}"):
        chains[slug] += 1  # (article_id, slug) is the primary key: a row is an article
        sectors.setdefault(sector, set()).add(aid)
    out["chain"] = [FacetValue(k, k, n) for k, n in _top(chains, 15)]
    out["sector"] = [FacetValue(k, k, n) for k, n in _top(Counter({k: len(v) for k, v in sectors.items()}), 15)]
    rows = run(f"SELECT type, COUNT(DISTINCT article_id) AS n FROM events WHERE {_in('article_id')} "
               "GROUP BY type ORDER BY n DESC")
    out["event_type"] = [FacetValue(r[0], r[0], r[1]) for r in rows]
    sources: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    names: dict[str, str] = {}
    for key, name, language in run(f"SELECT s.key, s.name, a.language FROM articles a LEFT JOIN sources s "
                                   f"ON s.id = a.source_id WHERE {_in('a.id')}"):
        if key is not None:
            sources[key] += 1
            names[key] = max(names.get(key, name or ""), name or "")
        if language is not None:
            languages[language] += 1
    out["source"] = [FacetValue(k, names[k], n) for k, n in _top(sources, 15)]
    out["language"] = [FacetValue(k, k, n) for k, n in _top(languages, None)]
    return out


def _hits(s: Session, page_groups: list[list[_Candidate]], pattern: re.Pattern[str] | None) -> list[Hit]:
    if not page_groups:
        return []
    primary = {g[0].article_id: g for g in page_groups}
    rows = s.execute(select(Article.id, Article.title, Article.url, Article.final_url, Article.published,
                            Article.fetched_at, Article.language, Article.text, Article.text_normalized,
                            Article.story_id, Source.key, Source.name)
                     .outerjoin(Source, Source.id == Article.source_id)
                     .where(Article.id.in_(list(primary)))).all()
    by_id = {r.id: r for r in rows}
    story_ids = [g[0].story_id for g in page_groups if g[0].story_id is not None]
    also: dict[int, list[AlsoReported]] = {}
    if story_ids:
        sibs = s.execute(select(Article.id, Article.story_id, Article.url, Source.name)
                         .outerjoin(Source, Source.id == Article.source_id)
                         .where(Article.story_id.in_(story_ids), Article.id.not_in(list(primary)))
                         .order_by(Article.published, Article.id).limit(20 * len(story_ids))).all()
        for r in sibs:
            bucket = also.setdefault(r.story_id, [])
            if len(bucket) < 10:
                bucket.append(AlsoReported(r.id, r.name or "", r.url))
    hits = []
    for aid, group in primary.items():
        r = by_id.get(aid)
        if r is None:  # deleted between retrieval and display
            continue
        title = r.title or ""
        hits.append(Hit(
            article_id=r.id, story_id=r.story_id, title=title, url=r.final_url or r.url,
            source_key=r.key, source_name=r.name or "", published=as_utc(r.published or r.fetched_at),
            language=r.language, title_parts=split_spans(title, highlight_spans(title, None, pattern)),
            snippet=make_snippet(r.text or "", r.text_normalized, pattern),
            also=also.get(r.story_id, []) if r.story_id is not None else [], score=group[0].score))
    return hits


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean_query(q: SearchQuery) -> None:
    """Drop control characters (PostgreSQL rejects NUL in text) and bound every field's length."""
    q.q = _CONTROL.sub(" ", q.q or "")[: segment.MAX_QUERY_CHARS]
    for name, limit in (("region", 50), ("chain", 64), ("event_type", 16), ("source", 64), ("language", 16)):
        value = getattr(q, name)
        if value is not None:
            setattr(q, name, _CONTROL.sub("", str(value)).strip()[:limit] or None)


def search(db: Database, q: SearchQuery) -> SearchResult:
    """Run ``q``: one hit per story, a page of them, facets over the first WINDOW matches."""
    started = time.perf_counter()
    if q.sort not in SORTS:
        raise SearchError(f"sort must be one of {', '.join(SORTS)}")
    if q.since and q.until and q.since > q.until:
        raise SearchError("the start date is after the end date")
    _clean_query(q)
    q.per_page = max(1, min(int(q.per_page or 20), 100))
    q.page = max(1, min(int(q.page or 1), 1000))
    warnings: list[str] = []
    with db.session() as s:
        if db.is_postgres:
            # psycopg prepares a statement after five runs and PostgreSQL may then reuse a generic plan,
            # blind to how common the searched words are (a GIN scan of every match for 发展, 5x slower).
            # A slice's doc_key bitmap holds up to ~10^5 rows: in 4MB (the default) it turns lossy and
            # every row on its pages is re-tested. JIT compiles for tens of ms to save less.
            # All three for this transaction only (SET LOCAL), in one round trip.
            s.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                           "set_config('work_mem', '32MB', true), set_config('jit', 'off', true)"))
        plan = _plan(s, q, warnings)
        if q.q.strip() and not plan.groups:
            plan.empty = True  # "*" or "!!!" must not turn into "everything"
        if plan.empty:
            candidates, total = [], 0
        elif db.is_postgres:
            candidates, total = _retrieve_postgres(s, plan, q.sort)
        else:
            candidates, total = _retrieve_sqlite(s, plan, q.sort)
        if q.q.strip() and not plan.groups:
            warnings.append("the query has no searchable words")
        groups = _collapse(candidates)
        pages = max(1, math.ceil(len(groups) / q.per_page))
        page = min(q.page, pages)
        page_groups = groups[(page - 1) * q.per_page: page * q.per_page]
        if db.is_postgres and candidates:
            # Hits and facets look up at most WINDOW ids: index probes, whatever the default
            # random_page_cost (4, spinning disks) makes the planner think of a seq scan of a
            # 10^5-row table. The retrieval above keeps the default: its plans are chosen above.
            s.execute(text("SELECT set_config('random_page_cost', '1.1', true)"))
        hits = _hits(s, page_groups, _term_pattern(plan.groups))
        facets = _facets(s, [c.article_id for c in candidates], plan.region)
    return SearchResult(
        query=q, hits=hits, total=min(total, COUNT_CAP), total_capped=total > COUNT_CAP,
        stories_in_window=len(groups), page=page, pages=pages, facets=facets,
        facets_partial=total > len(candidates), region_name=plan.region[1] if plan.region else None,
        warnings=warnings, terms=plan.groups, took_ms=round((time.perf_counter() - started) * 1000, 1))


def parse_date(value: str | None, field_name: str = "date") -> date | None:
    """A YYYY-MM-DD (or YYYY-MM, YYYY) from a form or command line; SearchError when malformed."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if re.fullmatch(r"\d{4}", value):
            return date(int(value), 1, 1)
        if re.fullmatch(r"\d{4}-\d{1,2}", value):
            y, m = value.split("-")
            return date(int(y), int(m), 1)
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError(f"{field_name}: expected YYYY-MM-DD, got {value[:20]!r}") from None


# --------------------------------------------------------------------------- export

EXPORT_HEADER = ("title", "published", "source", "url", "language", "also_reported_by", "snippet", "article_id")


def export_hits(db: Database, q: SearchQuery, max_rows: int = WINDOW) -> list[Hit]:
    """Every story in the result window (at most ``max_rows``), in result order."""
    q.per_page, hits = min(100, max_rows), []
    for page in range(1, -(-max_rows // q.per_page) + 1):
        q.page = page
        result = search(db, q)
        hits.extend(result.hits)
        if page >= result.pages:
            break
    return hits[:max_rows]


def hits_to_csv(hits: list[Hit]) -> str:
    from chainwatch import csvsafe

    return csvsafe.to_csv(EXPORT_HEADER, ([h.title, h.published, h.source_name, h.url, h.language,
                                           "; ".join(a.source_name for a in h.also), h.snippet_text,
                                           h.article_id] for h in hits))
