"""search index (SQLite FTS5 / PostgreSQL tsvector + GIN), web sessions, API tokens

Revision ID: 0002
Revises: 0003 (after url_states, so the history stays one line)

Hand-written: autogenerate knows nothing of FTS5 or tsvector.

search_docs has one row per indexed article. doc_key = minutes since the epoch
of the article's date (published, else fetched) * 2**32 + article id: ordering
by it is ordering by date, so "newest first" and date ranges are a walk over
the full-text index itself (FTS5 rowid = doc_key) instead of a sort.

The index text is jieba-segmented and stemmed in Python (chainwatch.segment),
so both backends only ever split on spaces and punctuation:
  SQLite      search_fts: FTS5 (title, body, tags), tokenizer unicode61
  PostgreSQL  search_docs.tsv: to_tsvector('simple', ...) weighted A title,
              B body, D tags, GIN-indexed
tags holds tokens for regions, chains, sectors, event types, source and
language, so filters are intersected inside the full-text engine.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    columns = [
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("doc_key", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
    ]
    if bind.dialect.name == "postgresql":
        columns.append(sa.Column("tsv", postgresql.TSVECTOR(), nullable=False))
    op.create_table("search_docs", *columns)
    op.create_index("ix_search_docs_doc_key", "search_docs", ["doc_key"], unique=True)
    if bind.dialect.name == "postgresql":
        op.create_index("ix_search_docs_tsv", "search_docs", ["tsv"], postgresql_using="gin")
    else:
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "title, body, tags, tokenize = 'unicode61 remove_diacritics 2')")
        # An article deleted (search_docs goes with it by cascade) leaves no orphan in FTS5.
        op.execute("CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN "
                   "DELETE FROM search_fts WHERE rowid = old.doc_key; END")

    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("api_tokens")
    op.drop_table("web_sessions")
    if bind.dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_docs_ad")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_docs")
