"""What every entry point needs: the configuration and the database, opened once and passed down."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from chainwatch.config import Config, ensure_home, load_config
from storage.db import Database, open_database

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    config: Config
    _db: Database | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> AppContext:
        return cls(config=load_config())

    @cached_property
    def db(self) -> Database:
        """The database, with its schema brought up to date on first use."""
        if self._db is not None:
            return self._db
        ensure_home(self.config)
        db = open_database(self.config.database_url)
        db.upgrade()
        return db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
