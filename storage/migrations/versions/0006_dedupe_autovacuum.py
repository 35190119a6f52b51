"""PostgreSQL: autovacuum the near-duplicate check's tables after 1 % new rows instead of 20 %

The check reads lsh_bands and ix_article_signatures_filter by index-only scans, which visit the
table for every row on a page that vacuum has not yet marked all-visible. Both tables only ever
grow, and by default autovacuum waits for 20 % more rows: at 10^6 articles the newest 200,000,
which are the translation candidates the check takes first (the newest of each bucket), would each
cost a table read. Storage parameters only: nothing to do on SQLite, nothing the models describe.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("lsh_bands", "article_signatures")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (autovacuum_vacuum_insert_scale_factor = 0.01)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (autovacuum_vacuum_insert_scale_factor)")
