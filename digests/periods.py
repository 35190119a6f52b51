"""Digest periods: ISO weeks ("2022-W45") and days ("2022-11-07") in a subscriber's time zone.

A period is a half-open range of local dates; its UTC window depends on the time
zone, so the same "2022-W45" starts at different instants for Shanghai and Berlin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEK = "weekly"
DAY = "daily"
DEFAULT_TZ = "Asia/Shanghai"

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PeriodError(ValueError):
    """A period string or time zone that cannot be used."""


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first local day (inclusive)
    kind: str  # weekly | daily

    @property
    def end(self) -> date:
        """First local day after the period (exclusive)."""
        return self.start + timedelta(days=7 if self.kind == WEEK else 1)

    @property
    def key(self) -> str:
        if self.kind == WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.isoformat()

    def __str__(self) -> str:
        return self.key

    def window(self, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
        """The period as a UTC [start, end) range of instants, for queries."""
        zone = get_zone(tz) if isinstance(tz, str) else tz
        start = datetime.combine(self.start, time.min, zone).astimezone(UTC)
        end = datetime.combine(self.end, time.min, zone).astimezone(UTC)
        return start, end

    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.kind)

    def next(self) -> Period:
        return Period(self.end, self.kind)

    def label(self, language: str) -> str:
        """Human dates for the footer: 2022-11-07 – 2022-11-13."""
        last = self.end - timedelta(days=1)
        if self.kind == DAY:
            return self.start.isoformat()
        sep = " 至 " if language == "zh" else " – "
        return f"{self.key} ({self.start.isoformat()}{sep}{last.isoformat()})"


def get_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from None


def parse_period(text: str) -> Period:
    """'2022-W45' → that ISO week; '2022-11-07' → that day."""
    text = text.strip()
    if m := _WEEK_RE.match(text):
        try:
            return Period(date.fromisocalendar(int(m[1]), int(m[2]), 1), WEEK)
        except ValueError:
            raise PeriodError(f"{text!r}: no such ISO week") from None
    if m := _DAY_RE.match(text):
        try:
            return Period(date(int(m[1]), int(m[2]), int(m[3])), DAY)
        except ValueError:
            raise PeriodError(f"{text!r}: no such day") from None
    raise PeriodError(f"{text!r}: expected an ISO week like 2022-W45 or a day like 2022-11-07")


def period_of(day: date, kind: str) -> Period:
    if kind == WEEK:
        return Period(day - timedelta(days=day.weekday()), WEEK)
    if kind == DAY:
        return Period(day, DAY)
    raise PeriodError(f"unknown frequency {kind!r} (weekly or daily)")


def period_containing(instant: datetime, tz: str, kind: str) -> Period:
    local = _aware(instant).astimezone(get_zone(tz))
    return period_of(local.date(), kind)


def last_completed(now: datetime, tz: str, kind: str) -> Period:
    """The newest period that has ended at ``now`` (on a Monday: the previous ISO week)."""
    return period_containing(now, tz, kind).previous()


def completed_since(since: datetime, now: datetime, tz: str, kind: str, limit: int = 8) -> list[Period]:
    """Completed periods from the one containing ``since`` up to now, oldest first, at most ``limit``.

    The bound keeps a machine that was off for months from mailing a backlog nobody wants.
    """
    last = last_completed(now, tz, kind)
    first = period_containing(since, tz, kind)
    out: list[Period] = []
    p = last
    while p >= first and len(out) < limit:
        out.append(p)
        p = p.previous()
    return out[::-1]


def due_at(period: Period, tz: str, send_day: str, send_time: str) -> datetime:
    """When a scheduled run may send ``period``: the first ``send_day`` at ``send_time`` after it ends
    (daily periods: the next day at ``send_time``)."""
    hh, mm = parse_hhmm(send_time)
    day = period.end
    if period.kind == WEEK:
        target = weekday_index(send_day)
        day += timedelta(days=(target - day.weekday()) % 7)
    return datetime.combine(day, time(hh, mm), get_zone(tz)).astimezone(UTC)


def parse_hhmm(text: str) -> tuple[int, int]:
    m = re.match(r"^(\d{1,2}):(\d{2})$", text.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise PeriodError(f"{text!r}: expected a time like 08:00")
    return int(m[1]), int(m[2])


def weekday_index(name: str) -> int:
    key = name.strip().lower()[:3]
    if key not in WEEKDAYS:
        raise PeriodError(f"{name!r}: expected a weekday like mon")
    return WEEKDAYS.index(key)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
