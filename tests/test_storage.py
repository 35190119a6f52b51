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
