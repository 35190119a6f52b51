"""Digest core functions called by the CLI, the web app, the scheduler and the demo.

Sending is exactly-once per (subscriber, period) as far as the database can
make it: a delivery row is created idempotently (unique key), claimed by one
atomic UPDATE and committed before the message leaves, and marked sent after.
Two runs at once cannot both claim a row; a run that dies between handing the
message to the server and marking it can only cause a re-send after the claim
goes stale, and that re-send carries the same Message-ID.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chainwatch import subscribers as subs_core
from chainwatch.context import AppContext
from chainwatch.subscribers import SubscriberView
from digests.build import Digest, Filters, PeriodData, build_digest, load_period
from digests.deliver import (
    Envelope,
    RecipientRejected,
    Transport,
    TransportError,
    build_message,
    message_id_for,
    transport_for,
    write_atomic,
)
from digests.periods import (
    WEEK,
    Period,
    completed_since,
    due_at,
    last_completed,
    parse_period,
    period_containing,
)
from digests.render import Rendered, render
from storage.models import Article, Delivery, Subscriber
from storage.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

CATCH_UP_PERIODS = 8  # a machine that was off sends at most this many missed periods per subscriber
CLAIM_STALE = timedelta(minutes=15)  # a "sending" row older than this was abandoned by a dead process
BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_MAX = timedelta(hours=6)
MAX_CONSECUTIVE_TRANSPORT_ERRORS = 2  # the server is down: stop instead of timing out once per subscriber


# ---------------------------------------------------------------- building and previewing


class PeriodCache:
    """One load_period per (period, time zone), shared by every subscriber of a run."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self._data: dict[tuple[str, str], PeriodData] = {}

    def get(self, period: Period, tz: str) -> PeriodData:
        key = (period.key, tz)
        if key not in self._data:
            self._data[key] = self.app.db.run(lambda s: load_period(s, period, tz))
        return self._data[key]


def unsubscribe_url(app: AppContext, token: str) -> str:
    return f"{app.config.base_url.rstrip('/')}/unsubscribe/{token}"


def build_for(app: AppContext, period: Period | str, subscriber: SubscriberView | None = None,
              cache: PeriodCache | None = None) -> Digest:
    """The digest ``subscriber`` gets for ``period``; without one, everything, in Chinese."""
    p = parse_period(period) if isinstance(period, str) else period
    cache = cache or PeriodCache(app)
    if subscriber is None:
        return build_digest(cache.get(p, app.config.timezone), Filters(), "zh")
    shared = build_digest(cache.get(p, subscriber.timezone), Filters.of(subscriber.regions, subscriber.chains),
                          subscriber.language)
    # subscribers with the same filters and language share one build; personalise a copy
    return dataclasses.replace(shared, subscriber_email=subscriber.email, subscriber_name=subscriber.name,
                               unsubscribe_url=unsubscribe_url(app, subscriber.unsubscribe_token))


def render_for(app: AppContext, period: str | None = None, subscriber_email: str | None = None) -> Rendered:
    """Rendered digest (subject, HTML, text) for the web app's preview page; nothing is written."""
    sub = subs_core.get(app, subscriber_email) if subscriber_email else None
    return render(build_for(app, _preview_period(app, period, sub), sub))


def preview(app: AppContext, period: str | None = None, subscriber_email: str | None = None,
            out: Path | None = None) -> Path:
    """Write the digest's HTML to ``out`` (default: <home>/previews/) and return the path.

    Without ``period``: the newest period that has relevant articles (the demo's data may be
    years old), else the last completed one.
    """
    sub = subs_core.get(app, subscriber_email) if subscriber_email else None
    p = _preview_period(app, period, sub)
    rendered = render(build_for(app, p, sub))
    if out is None:
        who = sub.email.replace("@", "_at_") if sub else "all"
        out = app.config.home / "previews" / f"digest-{p.key}-{who}.html"
    write_atomic(Path(out), rendered.html.encode("utf-8"))
    return Path(out)


def _preview_period(app: AppContext, period: str | None, sub: SubscriberView | None) -> Period:
    if period:
        return parse_period(period)
    tz = sub.timezone if sub else app.config.timezone
    kind = sub.frequency if sub else WEEK
    latest = latest_period_with_content(app, tz=tz, kind=kind)
    return parse_period(latest) if latest else last_completed(utcnow(), tz, kind)


def latest_period_with_content(app: AppContext, tz: str | None = None, kind: str = WEEK) -> str | None:
    """Key of the newest period holding a relevant article (by published, else fetched), or None."""
    now = utcnow()

    def work(s: Session) -> datetime | None:
        published = s.scalar(select(func.max(Article.published))
                             .where(Article.relevant.is_(True), Article.published <= now))
        fetched = s.scalar(select(func.max(Article.fetched_at))
                           .where(Article.relevant.is_(True), Article.published.is_(None)))
        candidates = [as_utc(v) for v in (published, fetched) if v is not None]
        return max(candidates) if candidates else None

    newest = app.db.run(work)
    if newest is None:
        return None
    return period_containing(newest, tz or app.config.timezone, kind).key


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class Outcome:
    email: str
    period: str
    status: str  # sent | failed | empty | skipped | planned
    detail: str = ""  # outbox path, error, or "N stories"


@dataclass
class SendReport:
    transport: str
    outcomes: list[Outcome] = field(default_factory=list)
    aborted: str | None = None

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def sent(self) -> list[Outcome]:
        return self.by_status("sent")

    @property
    def failed(self) -> list[Outcome]:
        return self.by_status("failed")


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def plan(app: AppContext, period: str | None = None, now: datetime | None = None,
         send_at: tuple[str, str] | None = None) -> list[tuple[SubscriberView, Period, bool]]:
    """(subscriber, period, is_newest) pairs that have no sent delivery yet.

    Without ``period``: every completed period since the subscriber was created, the last
    CATCH_UP_PERIODS at most. ``send_at`` = (weekday, "HH:MM") holds a period back until that
    moment after it ends, local to the subscriber (the scheduler's "Monday 08:00").
    """
    now = now or utcnow()
    forced = parse_period(period) if period else None
    wanted: list[tuple[SubscriberView, Period, bool]] = []
    for sub in subs_core.list_all(app, include_inactive=False):
        if forced is not None:
            if forced.kind == sub.frequency:
                wanted.append((sub, forced, True))
            continue
        periods = completed_since(sub.created_at, now, sub.timezone, sub.frequency, CATCH_UP_PERIODS)
        if send_at is not None:
            periods = [p for p in periods if due_at(p, sub.timezone, *send_at) <= now]
        wanted.extend((sub, p, p == periods[-1]) for p in periods)
    if not wanted:
        return []
    done = _finished(app, {s.id for s, _, _ in wanted})
    return [(s, p, newest) for s, p, newest in wanted if (s.id, p.key) not in done]


def _finished(app: AppContext, subscriber_ids: set[int]) -> set[tuple[int, str]]:
    def work(s: Session) -> set[tuple[int, str]]:
        q = select(Delivery.subscriber_id, Delivery.period).where(
            Delivery.subscriber_id.in_(subscriber_ids), Delivery.status.in_(("sent", "empty")))
        return {(sid, p) for sid, p in s.execute(q)}

    return app.db.run(work)


def send(app: AppContext, period: str | None = None, *, dry_run: bool = False, now: datetime | None = None,
         send_at: tuple[str, str] | None = None, transport: Transport | None = None) -> SendReport:
    """Send every digest that is due and not yet sent (see :func:`plan`); ``period`` forces one period,
    ignoring retry backoff, but never re-sends a sent digest."""
    now = now or utcnow()
    pairs = plan(app, period, now, send_at)
    transport = transport or transport_for(app.config)
    report = SendReport(transport=transport.description)
    cache = PeriodCache(app)
    pairs.sort(key=lambda t: (t[1].key, t[0].timezone, t[0].email))  # neighbours share a period load
    if dry_run:
        for sub, p, _ in pairs:
            digest = build_for(app, p, sub, cache)
            report.outcomes.append(Outcome(sub.email, p.key, "planned", f"{digest.story_count} stories"))
        return report
    worker = _worker_id()
    transport_errors = 0
    try:
        for sub, p, newest in pairs:
            outcome = _deliver_one(app, sub, p, newest, worker, transport, cache, now, force=period is not None)
            report.outcomes.append(outcome)
            if outcome.status == "failed" and outcome.detail.startswith("transport:"):
                transport_errors += 1
                if transport_errors >= MAX_CONSECUTIVE_TRANSPORT_ERRORS:
                    report.aborted = outcome.detail.removeprefix("transport: ")
                    break
            elif outcome.status == "sent":
                transport_errors = 0
    finally:
        transport.close()
    return report


def _deliver_one(app: AppContext, sub: SubscriberView, p: Period, newest: bool, worker: str,
                 transport: Transport, cache: PeriodCache, now: datetime, force: bool) -> Outcome:
    delivery_id = _claim(app, sub.id, p.key, worker, now, force)
    if delivery_id is None:
        return Outcome(sub.email, p.key, "skipped", "already sent, being sent, or waiting to retry")
    try:
        digest = build_for(app, p, sub, cache)
        if digest.is_empty and not newest:
            # a missed period with nothing in it: record it, don't mail an old "nothing new"
            _finish(app, delivery_id, worker, status="empty")
            return Outcome(sub.email, p.key, "empty")
        rendered = render(digest)
        msg = build_message(rendered, Envelope(
            to_email=sub.email, to_name=sub.name, unsubscribe_url=digest.unsubscribe_url,
            message_id=message_id_for(f"{sub.id}/{p.key}/{sub.unsubscribe_token}", app.config.smtp.sender),
            date=utcnow()), app.config.smtp.sender)
        where = transport.send(msg, sub.email, f"{p.key}_{sub.id}_{sub.email}")
    except RecipientRejected as exc:
        _fail(app, delivery_id, worker, str(exc), now)
        return Outcome(sub.email, p.key, "failed", f"rejected: {exc}")
    except TransportError as exc:
        _fail(app, delivery_id, worker, str(exc), now)
        return Outcome(sub.email, p.key, "failed", f"transport: {exc}")
    except Exception as exc:  # a bug or bad data for this one digest must not stop the others
        log.exception("digest %s for %s failed", p.key, sub.email)
        _fail(app, delivery_id, worker, f"{type(exc).__name__}: {exc}", now)
        return Outcome(sub.email, p.key, "failed", f"error: {type(exc).__name__}: {exc}")
    _finish(app, delivery_id, worker, status="sent", message_id=msg["Message-ID"], outbox_path=where)
    return Outcome(sub.email, p.key, "sent", where or "")


def _insert_ignore(app: AppContext, subscriber_id: int, period: str):
    dialect = postgresql if app.db.is_postgres else sqlite
    return (dialect.insert(Delivery)
            .values(subscriber_id=subscriber_id, period=period, status="pending", attempts=0, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[Delivery.subscriber_id, Delivery.period]))


def _claim(app: AppContext, subscriber_id: int, period: str, worker: str, now: datetime,
           force: bool) -> int | None:
    """Create the row if missing, then take it with one conditional UPDATE; None if someone else has it
    (or it is sent, or waiting for its retry time). Each step commits on its own: the claim must be
    visible to other processes before the message leaves."""
    app.db.run(lambda s: s.execute(_insert_ignore(app, subscriber_id, period)))
    max_attempts = app.config.smtp.max_attempts
    claimable = Delivery.status.in_(("pending", "failed"))
    if not force:
        claimable = and_(claimable, Delivery.attempts < max_attempts,
                         or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
    stale = and_(Delivery.status == "sending", Delivery.claimed_at < utcnow() - CLAIM_STALE)

    def work(s: Session) -> int | None:
        res = s.execute(update(Delivery)
                        .where(Delivery.subscriber_id == subscriber_id, Delivery.period == period,
                               or_(claimable, stale))
                        .values(status="sending", claimed_by=worker, claimed_at=utcnow(),
                                attempts=Delivery.attempts + 1)
                        .returning(Delivery.id))
        return res.scalar_one_or_none()

    return app.db.run(work)


def _finish(app: AppContext, delivery_id: int, worker: str, status: str, message_id: str | None = None,
            outbox_path: str | None = None) -> None:
    def work(s: Session) -> int:
        return s.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.claimed_by == worker)
                         .values(status=status, sent_at=utcnow() if status == "sent" else None,
                                 message_id=message_id, outbox_path=outbox_path, last_error=None,
                                 next_attempt_at=None, claimed_by=None)).rowcount

    if app.db.run(work) != 1:
        log.warning("delivery %s was re-claimed by another worker while %s sent it", delivery_id, worker)


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... minutes after the n-th failed attempt, at most six hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _fail(app: AppContext, delivery_id: int, worker: str, error: str, now: datetime) -> None:
    max_attempts = app.config.smtp.max_attempts

    def work(s: Session) -> None:
        row = s.get(Delivery, delivery_id)
        if row is None or row.claimed_by != worker:
            return
        row.status = "failed"
        row.claimed_by = None
        give_up = row.attempts >= max_attempts
        row.last_error = (f"gave up after {row.attempts} attempts: " if give_up else "") + error[:2000]
        row.next_attempt_at = None if give_up else now + backoff(row.attempts)

    app.db.run(work)


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class DeliveryView:
    id: int
    email: str
    period: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None
    outbox_path: str | None
    message_id: str | None


def deliveries(app: AppContext, subscriber_email: str | None = None, period: str | None = None,
               limit: int = 200) -> list[DeliveryView]:
    """The delivery log, newest first (web app: Digests → deliveries)."""
    def work(s: Session) -> list[DeliveryView]:
        q = (select(Delivery, Subscriber.email).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
             .order_by(Delivery.period.desc(), Subscriber.email).limit(limit))
        if subscriber_email:
            q = q.where(Subscriber.email == subs_core.normalize_email(subscriber_email))
        if period:
            q = q.where(Delivery.period == period)
        return [DeliveryView(d.id, email, d.period, d.status, d.attempts, d.last_error, as_utc(d.sent_at),
                             as_utc(d.next_attempt_at), d.outbox_path, d.message_id) for d, email in s.execute(q)]

    return app.db.run(work)


def periods_for(sub: SubscriberView, count: int = 12, now: datetime | None = None) -> Iterable[str]:
    """Recent period keys for a subscriber, newest first (web app: the preview's period picker)."""
    p = period_containing(now or utcnow(), sub.timezone, sub.frequency)
    for _ in range(count):
        yield p.key
        p = p.previous()
