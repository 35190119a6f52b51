"""url states for pages that are not articles; index on the requested article URL; article facts;
http_cache dropped (Scrapy's HTTP cache keeps validators)

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "url_states",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_index("ix_url_states_source_id", "url_states", ["source_id"])
    op.create_index("ix_articles_url", "articles", ["url"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    op.drop_table("http_cache")  # conditional requests moved to Scrapy's HTTP cache


def downgrade() -> None:
    op.create_table(
        "http_cache",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("facts")
    op.drop_index("ix_articles_url", table_name="articles")
    op.drop_index("ix_url_states_source_id", table_name="url_states")
    op.drop_table("url_states")
