"""Lease locks on SQLite and PostgreSQL: exclusive, expiring, renewable, released."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from chainwatch.locks import LockHeld, LockLost, acquire, holder, lease, try_lease
from storage.models import Lock
from storage.timeutil import as_utc, utcnow


def _expire(db, name: str) -> None:
    with db.session() as s:
        s.execute(update(Lock).where(Lock.name == name).values(expires_at=utcnow() - timedelta(seconds=1)))


def test_two_holders_cannot_both_hold(any_db) -> None:
    with lease(any_db, "crawl", ttl_seconds=60, owner="a") as held:
        assert held.owner == "a"
        with try_lease(any_db, "crawl", ttl_seconds=60, owner="b") as other:
            assert other is None
        with pytest.raises(LockHeld) as info, lease(any_db, "crawl", owner="b"):
            pass
        assert info.value.owner == "a" and info.value.name == "crawl" and info.value.since is not None
        assert holder(any_db, "crawl").owner == "a"


def test_release_frees_the_lock_even_when_the_block_raises(any_db) -> None:
    with pytest.raises(ZeroDivisionError), lease(any_db, "crawl", owner="a"):
        1 / 0  # noqa: B018
    assert holder(any_db, "crawl") is None
    with lease(any_db, "crawl", owner="b") as held:
        assert held.owner == "b"


def test_other_names_are_independent(any_db) -> None:
    with lease(any_db, "crawl", owner="a"), lease(any_db, "digest", owner="b") as second:
        assert second.owner == "b"


def test_expired_lease_is_taken_over_and_the_old_holder_learns_it(any_db) -> None:
    old = acquire(any_db, "crawl", ttl_seconds=60, owner="a")
    assert old is not None
    _expire(any_db, "crawl")
    assert holder(any_db, "crawl") is None  # expired counts as free
    new = acquire(any_db, "crawl", ttl_seconds=60, owner="b")
    assert new is not None and holder(any_db, "crawl").owner == "b"
    with pytest.raises(LockLost):
        old.renew()
    old.release()  # must not delete b's row
    assert holder(any_db, "crawl").owner == "b"
    new.release()


def test_renew_pushes_the_expiry(any_db) -> None:
    held = acquire(any_db, "crawl", ttl_seconds=5, owner="a")
    first = held.expires_at
    held.ttl_seconds = 3600
    held.renew()
    with any_db.session() as s:
        stored = as_utc(s.scalar(select(Lock.expires_at).where(Lock.name == "crawl")))
    assert stored > first + timedelta(seconds=60)
    held.release()


def test_heartbeat_keeps_renewing(any_db) -> None:
    with lease(any_db, "crawl", ttl_seconds=3600, owner="a") as held:
        _expire(any_db, "crawl")  # as if the job had run past its TTL
        held.start_heartbeat(interval=0.01)
        deadline = time.monotonic() + 10
        while holder(any_db, "crawl") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert acquire(any_db, "crawl", owner="b") is None
    assert holder(any_db, "crawl") is None


def test_racing_acquirers_get_exactly_one_lease(any_db) -> None:
    n = 8
    barrier = threading.Barrier(n)
    winners: list[str] = []
    errors: list[BaseException] = []

    def contender(i: int) -> None:
        try:
            barrier.wait()
            if acquire(any_db, "crawl", ttl_seconds=60, owner=f"w{i}") is not None:
                winners.append(f"w{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(winners) == 1
    assert holder(any_db, "crawl").owner == winners[0]
