"""Digest subscribers: create, list, update, remove. Shared by the CLI and the web app.

Every input is validated here, so a bad address or region code gets the same
clear message whichever interface it came through.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainwatch.context import AppContext
from digests import labels
from digests.periods import DAY, WEEK, PeriodError, get_zone
from storage.models import Subscriber
from storage.timeutil import as_utc

LANGUAGES = ("zh", "en")
FREQUENCIES = (WEEK, DAY)
# Deliberately plain: one @, no spaces or angle brackets or control characters (those would
# end up in a To: header), a dotted domain. Deliverability is the SMTP server's business.
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
_REGION_RE = re.compile(r"^\d{6}$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class SubscriberError(ValueError):
    """Invalid input or unknown subscriber; the message is meant for the user."""


@dataclass(frozen=True)
class SubscriberView:
    """A detached, read-only copy for listings and forms."""

    id: int
    email: str
    name: str | None
    regions: tuple[str, ...]
    chains: tuple[str, ...]
    language: str
    frequency: str
    timezone: str
    active: bool
    unsubscribe_token: str
    created_at: datetime

    @classmethod
    def of(cls, s: Subscriber) -> SubscriberView:
        return cls(id=s.id, email=s.email, name=s.name, regions=tuple(s.regions or ()),
                   chains=tuple(s.chains or ()), language=s.language, frequency=s.frequency,
                   timezone=s.timezone, active=s.active, unsubscribe_token=s.unsubscribe_token,
                   created_at=as_utc(s.created_at) or s.created_at)


def normalize_email(email: str) -> str:
    value = (email or "").strip()
    if not _EMAIL_RE.match(value) or ".." in value:
        raise SubscriberError(f"not a valid email address: {email!r}")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"  # domains are case-insensitive, local parts need not be


def parse_list(value: str | Iterable[str] | None) -> list[str]:
    """'410000, 410300' or ['410000'] -> ['410000', '410300'] (comma, space or 、 separated)."""
    if value is None:
        return []
    items = re.split(r"[\s,，、;]+", value) if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        item = str(item).strip()
        if item and item not in out:
            out.append(item)
    return out


def validate_regions(codes: str | Iterable[str] | None) -> list[str]:
    out = parse_list(codes)
    for code in out:
        if not _REGION_RE.match(code):
            raise SubscriberError(f"region {code!r}: expected a six-digit GB/T 2260 code such as 410000")
        if labels.region_known(code) is False:
            raise SubscriberError(f"region {code!r}: not in the gazetteer")
    return out


def validate_chains(slugs: str | Iterable[str] | None) -> list[str]:
    out = [s.lower() for s in parse_list(slugs)]
    for slug in out:
        if not _SLUG_RE.match(slug):
            raise SubscriberError(f"chain {slug!r}: expected a chain or sector slug such as bearings or equipment")
        # Without the project taxonomy, user-added chains cannot be checked; accept well-formed slugs.
        if labels.taxonomy_available() and not labels.chain_known(slug):
            raise SubscriberError(f"chain {slug!r}: not a known chain or sector slug")
    return out


def validate_language(language: str) -> str:
    if language not in LANGUAGES:
        raise SubscriberError(f"language {language!r}: expected zh or en")
    return language


def validate_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise SubscriberError(f"frequency {frequency!r}: expected weekly or daily")
    return frequency


def validate_timezone(tz: str) -> str:
    try:
        get_zone(tz)
    except PeriodError as exc:
        raise SubscriberError(str(exc)) from None
    return tz


def _name(name: str | None) -> str | None:
    if name is None:
        return None
    # The display name goes into the To: header; no control characters there.
    clean = re.sub(r"[\x00-\x1f\x7f]+", " ", name).strip()
    if len(clean) > 200:
        raise SubscriberError("name: at most 200 characters")
    return clean or None


def _get(s: Session, email_or_id: str | int) -> Subscriber:
    if isinstance(email_or_id, int) or str(email_or_id).isdigit():
        row = s.get(Subscriber, int(email_or_id))
    else:
        row = s.scalars(select(Subscriber).where(Subscriber.email == normalize_email(str(email_or_id)))).first()
    if row is None:
        raise SubscriberError(f"no subscriber {email_or_id!r}")
    return row


def add(app: AppContext, email: str, *, name: str | None = None, regions: str | Sequence[str] | None = None,
        chains: str | Sequence[str] | None = None, language: str = "zh", frequency: str = WEEK,
        timezone: str | None = None) -> SubscriberView:
    row = Subscriber(email=normalize_email(email), name=_name(name), regions=validate_regions(regions),
                     chains=validate_chains(chains), language=validate_language(language),
                     frequency=validate_frequency(frequency),
                     timezone=validate_timezone(timezone or app.config.timezone or "Asia/Shanghai"),
                     active=True, unsubscribe_token=secrets.token_urlsafe(32))

    def work(s: Session) -> SubscriberView:
        if s.scalars(select(Subscriber.id).where(Subscriber.email == row.email)).first() is not None:
            raise SubscriberError(f"{row.email} is already subscribed")
        s.add(row)
        s.flush()
        return SubscriberView.of(row)

    try:
        return app.db.run(work)
    except IntegrityError:  # lost a race with another add of the same address
        raise SubscriberError(f"{row.email} is already subscribed") from None


def list_all(app: AppContext, include_inactive: bool = True) -> list[SubscriberView]:
    def work(s: Session) -> list[SubscriberView]:
        q = select(Subscriber).order_by(Subscriber.email)
        if not include_inactive:
            q = q.where(Subscriber.active.is_(True))
        return [SubscriberView.of(r) for r in s.scalars(q)]

    return app.db.run(work)


def get(app: AppContext, email_or_id: str | int) -> SubscriberView:
    return app.db.run(lambda s: SubscriberView.of(_get(s, email_or_id)))


_UNSET = object()


def update(app: AppContext, email_or_id: str | int, *, email: str | None = None, name: object = _UNSET,
           regions: str | Sequence[str] | None = None, chains: str | Sequence[str] | None = None,
           language: str | None = None, frequency: str | None = None, timezone: str | None = None,
           active: bool | None = None) -> SubscriberView:
    """Change the given fields; None leaves a field alone (pass [] or '' to clear a filter)."""
    changes: dict[str, object] = {}
    if email is not None:
        changes["email"] = normalize_email(email)
    if name is not _UNSET:
        changes["name"] = _name(name if isinstance(name, str) or name is None else str(name))
    if regions is not None:
        changes["regions"] = validate_regions(regions)
    if chains is not None:
        changes["chains"] = validate_chains(chains)
    if language is not None:
        changes["language"] = validate_language(language)
    if frequency is not None:
        changes["frequency"] = validate_frequency(frequency)
    if timezone is not None:
        changes["timezone"] = validate_timezone(timezone)
    if active is not None:
        changes["active"] = bool(active)

    def work(s: Session) -> SubscriberView:
        row = _get(s, email_or_id)
        if "email" in changes and changes["email"] != row.email:
            clash = s.scalars(select(Subscriber.id).where(Subscriber.email == changes["email"])).first()
            if clash is not None:
                raise SubscriberError(f"{changes['email']} is already subscribed")
        for key, value in changes.items():
            setattr(row, key, value)
        s.flush()
        return SubscriberView.of(row)

    return app.db.run(work)


def remove(app: AppContext, email_or_id: str | int) -> None:
    """Delete the subscriber and its delivery records."""
    def work(s: Session) -> None:
        row = _get(s, email_or_id)
        s.delete(row)

    app.db.run(work)


def unsubscribe(app: AppContext, token: str) -> SubscriberView | None:
    """The unsubscribe link: deactivate (keeping the delivery history). None for an unknown token."""
    def work(s: Session) -> SubscriberView | None:
        row = s.scalars(select(Subscriber).where(Subscriber.unsubscribe_token == token)).first()
        if row is None:
            return None
        row.active = False
        return SubscriberView.of(row)

    return app.db.run(work) if token else None
