"""Lease locks in the ``locks`` table, shared by every process and machine that uses the database.

    with lease(db, "crawl", ttl_seconds=3600) as held:
        ...            # long work: held.renew() now and then, or lease(..., heartbeat=True)

A lease expires on its own, so a crashed holder never blocks the others for
longer than its TTL; and a holder that was a process on this host which no longer exists
(killed, machine rebooted) is taken over at once, without waiting for the TTL. Acquiring is
a single INSERT ... ON CONFLICT DO UPDATE
WHERE expires_at < now statement: the database serialises concurrent attempts
on the primary key, so exactly one of two racing processes gets the row, on
SQLite and PostgreSQL alike. Times are the callers' UTC clocks; keep the TTL
far above any clock skew between machines.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Lock
from storage.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600.0


class LockHeld(RuntimeError):
    """The lock is held by someone else."""

    def __init__(self, name: str, owner: str, since: datetime | None) -> None:
        self.name, self.owner, self.since = name, owner, since
        when = since.isoformat(timespec="seconds") if since else "?"
        super().__init__(f"lock {name!r} is held by {owner} since {when}")


class LockLost(RuntimeError):
    """Our lease expired and someone else took it (or it was removed)."""


@dataclass(frozen=True)
class LockInfo:
    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime


def default_owner() -> str:
    # host and pid make `locks` readable for an operator; the random part keeps two leases
    # in one process (threads, tests) apart.
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    db: Database
    name: str
    owner: str
    ttl_seconds: float
    expires_at: datetime
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    lost: bool = False

    def renew(self) -> None:
        """Push the expiry ``ttl_seconds`` into the future; raises LockLost if the lease is gone."""
        expires = utcnow() + timedelta(seconds=self.ttl_seconds)

        def work(s: Session) -> int:
            res = s.execute(update(Lock).where(Lock.name == self.name, Lock.owner == self.owner)
                            .values(expires_at=expires))
            return res.rowcount

        if self.db.run(work) != 1:
            self.lost = True
            raise LockLost(f"lock {self.name!r} is no longer held by {self.owner}")
        self.expires_at = expires

    def start_heartbeat(self, interval: float | None = None) -> None:
        """Renew in a daemon thread every ``interval`` seconds (a third of the TTL by default)."""
        if self._thread is not None:
            return
        every = interval if interval is not None else max(self.ttl_seconds / 3, 0.05)

        def beat() -> None:
            while not self._stop.wait(every):
                try:
                    self.renew()
                except LockLost:
                    log.error("lease %r lost; stopping heartbeat", self.name)
                    return
                except Exception:  # a database hiccup: try again next beat, the TTL has slack
                    log.warning("could not renew lease %r", self.name, exc_info=True)

        self._thread = threading.Thread(target=beat, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.db.run(lambda s: s.execute(delete(Lock).where(Lock.name == self.name, Lock.owner == self.owner)))


def _acquire_statement(db: Database, name: str, owner: str, now: datetime, expires: datetime):
    dialect = postgresql if db.is_postgres else sqlite
    stmt = dialect.insert(Lock).values(name=name, owner=owner, acquired_at=now, expires_at=expires)
    return stmt.on_conflict_do_update(
        index_elements=[Lock.name],
        set_={"owner": stmt.excluded.owner, "acquired_at": stmt.excluded.acquired_at,
              "expires_at": stmt.excluded.expires_at},
        # take over only an expired lease (or re-enter our own)
        where=(Lock.expires_at < now) | (Lock.owner == owner),
    ).returning(Lock.owner)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie, killed but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def dead_local_owner(owner: str) -> bool:
    """Whether ``owner`` (``host:pid:…`` from default_owner) names a process on this host that has ended."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) in (0, os.getpid()):
        return False
    return not process_alive(int(pid))


def acquire(db: Database, name: str, ttl_seconds: float = DEFAULT_TTL, owner: str | None = None) -> Lease | None:
    """Take the lease, or return None when someone else holds a live one. Caller must release()."""
    owner = owner or default_owner()
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    got = db.run(lambda s: s.execute(_acquire_statement(db, name, owner, now, expires)).scalar_one_or_none())
    if got != owner:
        current = db.run(lambda s: s.scalar(select(Lock.owner).where(Lock.name == name)))
        if current and dead_local_owner(current):
            # The holder was killed (or crashed) on this host; its lease would block everyone until the
            # TTL. Only the owner we saw is replaced, so of two processes taking over at once one wins.
            def take_over(s: Session) -> int:
                return s.execute(update(Lock).where(Lock.name == name, Lock.owner == current)
                                 .values(owner=owner, acquired_at=now, expires_at=expires)).rowcount

            if db.run(take_over) == 1:
                log.warning("lock %r: its holder %s is no longer running on this host; taken over", name, current)
                got = owner
    if got != owner:
        return None
    return Lease(db=db, name=name, owner=owner, ttl_seconds=ttl_seconds, expires_at=expires)


def holder(db: Database, name: str) -> LockInfo | None:
    """Who holds ``name`` now (an expired lease, or one of a process on this host that has ended, counts
    as free)."""
    def work(s: Session) -> LockInfo | None:
        row = s.execute(select(Lock).where(Lock.name == name)).scalar_one_or_none()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        if expires is None or expires < utcnow() or dead_local_owner(row.owner):
            return None
        return LockInfo(row.name, row.owner, as_utc(row.acquired_at) or expires, expires)

    return db.run(work)


@contextmanager
def lease(db: Database, name: str, ttl_seconds: float = DEFAULT_TTL, owner: str | None = None,
          heartbeat: bool = False) -> Iterator[Lease]:
    """Hold ``name`` for the block; raises LockHeld(name, owner, since) when it is taken."""
    held = acquire(db, name, ttl_seconds, owner)
    if held is None:
        info = holder(db, name)
        raise LockHeld(name, info.owner if info else "(unknown, just released)", info.acquired_at if info else None)
    with _holding(held, heartbeat):
        yield held


@contextmanager
def try_lease(db: Database, name: str, ttl_seconds: float = DEFAULT_TTL, owner: str | None = None,
              heartbeat: bool = False) -> Iterator[Lease | None]:
    """Like :func:`lease`, but yields None instead of raising when the lock is taken."""
    held = acquire(db, name, ttl_seconds, owner)
    if held is None:
        yield None
        return
    with _holding(held, heartbeat):
        yield held


@contextmanager
def _holding(held: Lease, heartbeat: bool) -> Iterator[None]:
    if heartbeat:
        held.start_heartbeat()
    try:
        yield
    finally:
        try:
            held.release()
        except Exception:  # the lease expires anyway; never mask the block's own error
            log.warning("could not release lease %r", held.name, exc_info=True)
