"""Engines, sessions and schema upgrades.

``open_database(url)`` returns a :class:`Database` with an engine and a session
factory; ``upgrade()`` brings the schema to the newest Alembic revision. SQLite
gets WAL mode, foreign keys and a busy timeout so that the crawler, the web app
and the scheduler can share one file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def run(self, fn: Callable[[Session], T], attempts: int = 5) -> T:
        """Run ``fn`` in one transaction, retrying when the database is locked or went away."""
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return fn(session)
            except (OperationalError, DBAPIError) as exc:
                if attempt == attempts or not _is_transient(exc):
                    raise
                log.warning("database busy or unreachable (%s); retry %d/%d in %.1fs",
                            str(exc.orig).splitlines()[0] if exc.orig else exc, attempt, attempts - 1, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def upgrade(self) -> None:
        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()


def _is_transient(exc: DBAPIError) -> bool:
    text = str(exc.orig or exc).lower()
    if exc.connection_invalidated:
        return True
    return any(s in text for s in ("database is locked", "database table is locked", "server closed",
                                   "connection refused", "terminating connection", "could not connect",
                                   "connection is closed", "the database system is",
                                   "not currently accepting connections"))


def open_database(url: str, *, upgrade_schema: bool = False, **engine_kwargs) -> Database:
    engine = make_engine(url, **engine_kwargs)
    db = Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    if upgrade_schema:
        upgrade(db)
    return db


def alembic_config(db: Database):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["connection_engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(db), revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def has_schema(db: Database) -> bool:
    return inspect(db.engine).has_table("articles")
