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
