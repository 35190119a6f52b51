"""Shared fixtures: a fresh SQLite archive per test, PostgreSQL and Redis when reachable.

PostgreSQL tests run against CHAINWATCH_TEST_POSTGRES_URL (default: the local
server, database ``test``); each test module gets its own scratch database.
Where the server is absent they skip with the reason, unless
CHAINWATCH_REQUIRE_POSTGRES=1 (set by .ci/run) turns the skip into a failure.
Redis works the same way with CHAINWATCH_REQUIRE_REDIS.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from chainwatch.config import Config, load_config
from chainwatch.context import AppContext
from storage.db import Database, open_database

POSTGRES_URL = os.environ.get("CHAINWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CHAINWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_or_skip(available: bool, env_flag: str, what: str) -> None:
    if available:
        return
    message = f"{what} is not reachable"
    if os.environ.get(env_flag) == "1":
        pytest.fail(f"{message}, and {env_flag}=1 requires it")
    pytest.skip(f"{message} (set {env_flag}=1 to make this a failure)")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's real CHAINWATCH_HOME or config."""
    home = tmp_path_factory.mktemp("cwhome")
    for name in list(os.environ):
        if name.startswith("CHAINWATCH_") and not name.startswith(("CHAINWATCH_TEST_", "CHAINWATCH_REQUIRE_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAINWATCH_HOME", str(home))
    monkeypatch.setenv("CHAINWATCH_ALLOW_PRIVATE_NETWORKS", "1")  # the test sites live on loopback


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Config with its home in tmp_path, SQLite database, loopback sources allowed."""
    env = {"CHAINWATCH_HOME": str(tmp_path / "home"), "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": "1",
           "CHAINWATCH_CONTACT": "tests@example.org"}
    return load_config(env=env)


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    database = open_database(config.database_url, upgrade_schema=True)
    yield database
    database.dispose()


@pytest.fixture
def app(config: Config, db: Database) -> AppContext:
    return AppContext(config=config, _db=db)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """URL of a scratch PostgreSQL database, dropped after the module."""
    require_or_skip(_reachable(POSTGRES_URL, 5432), "CHAINWATCH_REQUIRE_POSTGRES", f"PostgreSQL at {POSTGRES_URL}")
    import psycopg

    name = f"cw_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    """A PostgreSQL archive with the schema at head; tables emptied before each test."""
    from sqlalchemy import text

    database = open_database(postgres_url, upgrade_schema=True)
    from storage.models import Base

    with database.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, config: Config) -> Iterator[Database]:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        database = open_database(config.database_url, upgrade_schema=True)
        yield database
        database.dispose()
    else:
        yield request.getfixturevalue("pg_db")


@pytest.fixture
def redis_url() -> str:
    require_or_skip(_reachable(REDIS_URL, 6379), "CHAINWATCH_REQUIRE_REDIS", f"Redis at {REDIS_URL}")
    return REDIS_URL
