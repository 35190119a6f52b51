"""article_signatures: what the near-duplicate check reads of a candidate, out of the wide articles rows

One narrow row per article (story, source, the first two letters of its language, date, MinHash
signature, figures), filled here from the stored articles; archive.store_page writes it with every
new article. The check's band and translation candidates are read from it instead of from articles,
whose rows sit among the texts: at 10^6 articles on PostgreSQL (11 GB) each candidate was a random
page of the whole table, most of them read from disk.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("published", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minhash", sa.LargeBinary(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.execute("INSERT INTO article_signatures (article_id, story_id, source_id, language, published, minhash, facts) "
               "SELECT id, story_id, source_id, substr(coalesce(language, ''), 1, 2), published, minhash, facts "
               "FROM articles ORDER BY id")
    op.create_index("ix_article_signatures_filter", "article_signatures", ["article_id", "language", "published"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE article_signatures")  # autovacuum sets the visibility map index-only scans read


def downgrade() -> None:
    op.drop_table("article_signatures")
