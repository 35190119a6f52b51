"""Periods in a time zone, and quantities written the way readers write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from digests.numbers import format_quantity
from digests.periods import (
    PeriodError,
    completed_since,
    due_at,
    last_completed,
    parse_period,
    period_containing,
)


def test_parse_week_and_day() -> None:
    week = parse_period("2022-W45")
    assert (week.start, week.end, week.key) == (date(2022, 11, 7), date(2022, 11, 14), "2022-W45")
    day = parse_period("2022-11-07")
    assert (day.start, day.end, day.key, day.kind) == (date(2022, 11, 7), date(2022, 11, 8), "2022-11-07", "daily")
    assert parse_period("2020-W53").key == "2020-W53"  # 2020 had 53 ISO weeks
    for bad in ("2022-W54", "2022-45", "2022-13-01", "W45", ""):
        with pytest.raises(PeriodError):
            parse_period(bad)


def test_window_is_local_midnight_in_the_time_zone() -> None:
    start, end = parse_period("2022-W45").window("Asia/Shanghai")
    assert start == datetime(2022, 11, 6, 16, tzinfo=UTC)  # Monday 00:00 +08:00
    assert end == datetime(2022, 11, 13, 16, tzinfo=UTC)
    start, _ = parse_period("2022-W45").window("Europe/Berlin")
    assert start == datetime(2022, 11, 6, 23, tzinfo=UTC)


def test_instant_belongs_to_the_local_week() -> None:
    sunday_evening_utc = datetime(2022, 11, 6, 17, tzinfo=UTC)  # Monday 01:00 in Shanghai
    assert period_containing(sunday_evening_utc, "Asia/Shanghai", "weekly").key == "2022-W45"
    assert period_containing(sunday_evening_utc, "Europe/London", "weekly").key == "2022-W44"
    assert period_containing(sunday_evening_utc, "Asia/Shanghai", "daily").key == "2022-11-07"


def test_last_completed_on_monday_is_the_previous_week() -> None:
    monday_morning = datetime(2022, 11, 14, 0, 30, tzinfo=UTC)  # 08:30 Shanghai
    assert last_completed(monday_morning, "Asia/Shanghai", "weekly").key == "2022-W45"
    assert last_completed(monday_morning, "Asia/Shanghai", "daily").key == "2022-11-13"


def test_completed_since_is_bounded_and_starts_with_the_creation_period() -> None:
    now = datetime(2022, 11, 14, 2, tzinfo=UTC)
    got = completed_since(datetime(2022, 10, 20, tzinfo=UTC), now, "Asia/Shanghai", "weekly")
    assert [p.key for p in got] == ["2022-W42", "2022-W43", "2022-W44", "2022-W45"]
    long_ago = completed_since(datetime(2020, 1, 1, tzinfo=UTC), now, "Asia/Shanghai", "weekly", limit=8)
    assert len(long_ago) == 8 and long_ago[-1].key == "2022-W45"
    assert completed_since(now, now, "Asia/Shanghai", "weekly") == []  # created this week: nothing yet


def test_due_at_is_the_send_day_after_the_period() -> None:
    assert due_at(parse_period("2022-W45"), "Asia/Shanghai", "mon", "08:00") == datetime(2022, 11, 14, 0, tzinfo=UTC)
    assert due_at(parse_period("2022-W45"), "Asia/Shanghai", "wed", "09:30") == datetime(2022, 11, 16, 1, 30,
                                                                                        tzinfo=UTC)
    assert due_at(parse_period("2022-11-07"), "Asia/Shanghai", "mon", "08:00") == datetime(2022, 11, 8, 0,
                                                                                          tzinfo=UTC)


@pytest.mark.parametrize(("value", "unit", "metric", "zh", "en"), [
    (3.3e11, "CNY", "产业规模", "3300亿元", "330 billion yuan"),
    (3.3e10, "元", "产值", "330亿元", "33 billion yuan"),
    (1.25e12, "CNY", "营收", "1.25万亿元", "1.25 trillion yuan"),
    (5e8, "USD", "出口额", "5亿美元", "500 million US dollars"),
    (20, "%", "增速", "20%", "20%"),
    (5, "count", "龙头企业", "5家", "5"),
    (12, "count", "创新平台数量", "12家", "12"),
    (3, "count", "产业集群", "3个", "3"),
    (12000, "亩", "用地", "1.2万亩", "12,000 mu"),
    (1e6, "ton", "产能", "100万吨", "1 million tons"),
    (5e9, "kWh", "发电量", "50亿千瓦时", "5 billion kWh"),
])
def test_quantities(value: float, unit: str, metric: str, zh: str, en: str) -> None:
    assert format_quantity(value, unit, "zh", metric) == zh
    assert format_quantity(value, unit, "en", metric) == en


def test_missing_value_is_blank() -> None:
    assert format_quantity(None, "CNY", "zh") == ""
