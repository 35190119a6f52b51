"""Schema and session behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import current_revision
from storage.models import Article, Source


def _article(source: Source, url: str) -> Article:
    return Article(source_id=source.id, url=url, canonical_url=url, final_url=url, title="t",
                   text="正文", text_normalized="正文", content_hash=url[-8:].rjust(8, "0"))


def test_schema_is_at_head(any_db) -> None:
    assert current_revision(any_db) is not None


def test_migrations_build_the_schema_the_models_describe(any_db) -> None:
    """Alembic's autogenerate finds nothing to add or drop: every model change has its migration.
    The search index tables are the migrations' own (FTS5 / tsvector), outside the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    with any_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(change: object) -> str:
        item = change[1] if isinstance(change, tuple) else change[0][2]  # type: ignore[index]
        return getattr(item, "name", "") if not hasattr(item, "table") else item.table.name

    assert [c for c in diff if not table_of(c).startswith("search_")] == []


def test_canonical_url_is_unique_and_failed_transaction_leaves_nothing(any_db) -> None:
    with any_db.session() as s:
        src = Source(key="demo", name="Demo", home_url="http://127.0.0.1/")
        s.add(src)
        s.flush()
        s.add(_article(src, "http://a.example/1.html"))
    with pytest.raises(IntegrityError), any_db.session() as s:
        src = s.scalars(select(Source)).one()
        s.add(_article(src, "http://a.example/2.html"))
        s.add(_article(src, "http://a.example/1.html"))  # duplicate key: the whole transaction rolls back
    with any_db.session() as s:
        urls = s.scalars(select(Article.canonical_url)).all()
    assert urls == ["http://a.example/1.html"]


def test_store_page_writes_the_signature_row_the_duplicate_check_reads(any_db) -> None:
    from datetime import UTC, datetime

    from chainwatch import dedupe
    from chainwatch.archive import PageRecord, store_page
    from storage.models import ArticleSignature

    text = "襄阳市召开新能源汽车产业链推进大会，到2025年产业规模达到1200亿元，整车产能达到60万辆，引进配套企业150家。" * 3
    with any_db.session() as s:
        src = Source(key="demo", name="Demo", home_url="http://127.0.0.1/")
        s.add(src)
        s.flush()
        record = PageRecord(source_id=src.id, url="http://a.example/1.html", final_url="http://a.example/1.html",
                            title="t", text=text, text_normalized=text, language="zh-Hant",
                            published=datetime(2023, 3, 6, 2, tzinfo=UTC))
        result = store_page(s, record)
    with any_db.session() as s:
        row = s.get(ArticleSignature, result.article_id)
        article = s.get(Article, result.article_id)
    sig = dedupe.signature(text, "zh-Hant")
    assert (row.story_id, row.source_id, row.language, row.minhash, row.facts) == (
        article.story_id, article.source_id, "zh", sig.minhash, list(sig.facts))
    assert row.published.replace(tzinfo=None) == article.published.replace(tzinfo=None)


def test_migration_0005_fills_signature_rows_of_stored_articles(any_db) -> None:
    """An archive stored before article_signatures existed gets one row per article from the upgrade."""
    from datetime import UTC, datetime

    from alembic import command

    from storage.db import alembic_config, upgrade
    from storage.models import ArticleSignature

    command.downgrade(alembic_config(any_db), "0004")
    try:
        with any_db.session() as s:
            src = Source(key="demo", name="Demo", home_url="http://127.0.0.1/")
            s.add(src)
            s.flush()
            a = _article(src, "http://a.example/1.html")
            a.language, a.minhash, a.facts = "en", b"\x01\x02" * 256, ["1200|亿元", "60|万辆", "150|"]
            a.published = datetime(2023, 3, 6, 2, tzinfo=UTC)
            s.add(a)
            s.add(_article(src, "http://a.example/2.html"))  # no language, signature or figures
            s.flush()
            source_id, first = src.id, a.id
    finally:
        upgrade(any_db)
    with any_db.session() as s:
        rows = {r.article_id: r for r in s.scalars(select(ArticleSignature))}
    assert len(rows) == 2
    row = rows[first]
    assert (row.source_id, row.language, row.minhash, row.facts) == (
        source_id, "en", b"\x01\x02" * 256, ["1200|亿元", "60|万辆", "150|"])
    published = row.published if row.published.tzinfo else row.published.replace(tzinfo=UTC)  # SQLite: naive UTC
    assert published == datetime(2023, 3, 6, 2, tzinfo=UTC)
    other = rows[first + 1]
    assert (other.language, other.minhash, other.facts, other.published) == ("", None, None, None)
