"""Autogenerate an Alembic migration from storage.models against a scratch SQLite database.

    .venv/bin/python scripts/new_migration.py "add search index" 0002
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import alembic_config, open_database


def main() -> None:
    message, rev_id = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        command.upgrade(alembic_config(db), "head")
        command.revision(alembic_config(db), message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main()
