"""The archive's schema (SQLAlchemy 2.x declarative). Changes go through Alembic (storage/migrations).

Idempotent by key: an article by its canonical URL, a story by its cluster, a
delivery by (subscriber, period).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.timeutil import utcnow


class Base(DeclarativeBase):
    pass


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    home_url: Mapped[str] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(6))  # the site's own region, a tagging hint
    strategy: Mapped[str] = mapped_column(String(16), default="listing")  # feed | sitemap | listing
    feed_url: Mapped[str | None] = mapped_column(String(2000))
    sitemap_url: Mapped[str | None] = mapped_column(String(2000))
    listing_urls: Mapped[list] = mapped_column(JSON, default=list)
    allow_patterns: Mapped[list] = mapped_column(JSON, default=list)
    deny_patterns: Mapped[list] = mapped_column(JSON, default=list)
    encoding: Mapped[str | None] = mapped_column(String(32))
    max_pages: Mapped[int | None] = mapped_column(Integer)
    crawl_interval_hours: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    discovery: Mapped[dict] = mapped_column(JSON, default=dict)  # what discovery found, for `sources show`
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    last_crawled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Story(Base):
    """A cluster of articles that report the same thing (reposts, rewrites, translations)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_article_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    article_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="story")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    url: Mapped[str] = mapped_column(String(2000), index=True)  # as requested, canonicalised
    canonical_url: Mapped[str] = mapped_column(String(2000), unique=True)
    final_url: Mapped[str] = mapped_column(String(2000))  # after redirects
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    text_normalized: Mapped[str] = mapped_column(Text, default="")  # simplified Chinese, pinyin-free
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    facts: Mapped[list | None] = mapped_column(JSON)  # normalised figures, for cross-language dedupe
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    relevant: Mapped[bool | None] = mapped_column(Boolean, index=True)
    relevance_score: Mapped[float | None] = mapped_column(Float)
    tag_version: Mapped[str | None] = mapped_column(String(40))
    tagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    story: Mapped[Story | None] = relationship(back_populates="articles")

    # Search facets read source and language of a thousand matches: from this index alone, not from
    # a thousand wide rows (texts and all) scattered over the table.
    __table_args__ = (Index("ix_articles_facets", "id", "source_id", "language"),)
    source: Mapped[Source | None] = relationship()
    regions: Mapped[list[ArticleRegion]] = relationship(cascade="all, delete-orphan")
    chains: Mapped[list[ArticleChain]] = relationship(cascade="all, delete-orphan")
    events: Mapped[list[Event]] = relationship(cascade="all, delete-orphan")


class UrlState(Base):
    """Pages fetched that did not become articles (PDFs, empty pages, listing pages) or failed.

    Permanent outcomes are not fetched again; transient failures are retried by the
    next crawl until ``attempts`` reaches the retry budget.
    """

    __tablename__ = "url_states"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)  # canonical URL
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # skipped (permanent) | failed (transient)
    reason: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class LshBand(Base):
    """MinHash LSH index: one row per (article, band). A lookup is one indexed query per article."""

    __tablename__ = "lsh_bands"

    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)


class ArticleSignature(Base):
    """What the near-duplicate check reads of a candidate, one narrow row per article: a candidate is a
    random row, and in ``articles`` that row sits among the texts (at 10^6 articles an 11 GB heap, so
    most candidates cost a read from disk). Written by archive.store_page with the article; ``minhash``
    and ``facts`` repeat the article's, ``story_id``, ``source_id`` and ``published`` too (set once, at
    insert), and ``language`` is the first two letters of the article's, which the check compares."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int | None] = mapped_column(Integer)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(2), default="")
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    facts: Mapped[list | None] = mapped_column(JSON)

    # Translation candidates in the page's own language, or published months apart, are dropped by this
    # index alone (PostgreSQL: index-only); only the few left are read from the table.
    __table_args__ = (Index("ix_article_signatures_filter", "article_id", "language", "published"),)


class ArticleRegion(Base):
    """A region an article is about (``role='subject'``), or an ancestor kept for search (``role='ancestor'``)."""

    __tablename__ = "article_regions"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), default="subject")
    level: Mapped[int] = mapped_column(Integer)  # 1 province, 2 prefecture, 3 county
    name: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[str | None] = mapped_column(Text)
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_article_regions_code", "code", "article_id"),
                      Index("ix_article_regions_facets", "article_id", "level", "code"))  # facets, index only


class ArticleChain(Base):
    __tablename__ = "article_chains"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    sector: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[str | None] = mapped_column(Text)
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_article_chains_slug", "slug", "article_id"),
                      Index("ix_article_chains_facets", "article_id", "slug", "sector"))  # facets, index only


class Event(Base):
    """A fact found in an article: a new alliance, a quantified target, chain-chief news."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    type: Mapped[str] = mapped_column(String(16), index=True)  # alliance | target | chain_chief
    name: Mapped[str | None] = mapped_column(Text)  # alliance name; chain-chief headline
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    event_date: Mapped[date | None] = mapped_column(Date)
    metric: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    year: Mapped[int | None] = mapped_column(Integer)
    chain_slug: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    tag_version: Mapped[str | None] = mapped_column(String(40))


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished | failed | killed
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)

    sources: Mapped[list[CrawlRunSource]] = relationship(cascade="all, delete-orphan")


class CrawlRunSource(Base):
    __tablename__ = "crawl_run_sources"

    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class CrawlError(Base):
    __tablename__ = "crawl_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(40))  # http_500, timeout, dns, not_html, too_large, ...
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lock(Base):
    """A named lease (crawl lock). Works across processes and machines that share the database."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    regions: Mapped[list] = mapped_column(JSON, default=list)  # region codes; descendants included
    chains: Mapped[list] = mapped_column(JSON, default=list)  # chain or sector slugs
    language: Mapped[str] = mapped_column(String(8), default="zh")
    frequency: Mapped[str] = mapped_column(String(8), default="weekly")  # weekly | daily
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Delivery(Base):
    """One digest for one subscriber and period; the unique key makes sending idempotent."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))  # 2022-W45 or 2022-11-07
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed|empty
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outbox_path: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("subscriber_id", "period", name="uq_delivery_subscriber_period"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(10), default="reader")  # reader | editor | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """Failed logins, for rate limiting that holds across server processes."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # username or client address
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


import storage.models_web  # noqa: E402, F401  (web sessions and API tokens share this Base)
