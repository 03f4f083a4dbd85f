from datetime import UTC, date, datetime

import pytest

from analytics.dates import parse_date_range
from analytics.errors import InvalidDateRange

TODAY = date(2026, 11, 24)


def test_default_is_last_30_days_including_today():
    date_range = parse_date_range({}, today=TODAY)
    assert (date_range.start, date_range.end, date_range.period) == (date(2026, 10, 26), TODAY, "30d")
    assert len(date_range.days) == 30


@pytest.mark.parametrize(("period", "days"), [("7d", 7), ("30d", 30), ("90d", 90), ("1y", 365)])
def test_period(period, days):
    date_range = parse_date_range({"period": period}, today=TODAY)
    assert date_range.end == TODAY
    assert len(date_range.days) == days
    assert date_range.period == period


def test_explicit_dates_are_inclusive_utc_days():
    date_range = parse_date_range({"startDate": "2025-03-01", "endDate": "2025-03-07"}, today=TODAY)
    assert date_range.start_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert date_range.end_before == datetime(2025, 3, 8, tzinfo=UTC)
    assert date_range.period == "custom"


def test_one_sided_ranges():
    only_start = parse_date_range({"startDate": "2026-11-01"}, today=TODAY)
    assert (only_start.start, only_start.end) == (date(2026, 11, 1), TODAY)
    only_end = parse_date_range({"endDate": "2026-01-31"}, today=TODAY)
    assert (only_end.start, only_end.end) == (date(2026, 1, 2), date(2026, 1, 31))
    only_end_week = parse_date_range({"endDate": "2026-01-31", "period": "7d"}, today=TODAY)
    assert only_end_week.start == date(2026, 1, 25)


def test_single_day_range():
    date_range = parse_date_range({"startDate": "2026-01-31", "endDate": "2026-01-31"}, today=TODAY)
    assert date_range.days == [date(2026, 1, 31)]


@pytest.mark.parametrize(
    "params",
    [
        {"startDate": "2026-01-02", "endDate": "2026-01-01"},
        {"startDate": "2026-1-2"},
        {"startDate": "2026-01-02T00:00:00Z"},
        {"endDate": "2026-02-29"},
        {"period": "1m"},
        {"period": "7D"},
        {"startDate": "1000-01-01", "endDate": "1000-01-02"},
        {"startDate": "9999-12-30", "endDate": "9999-12-31"},
        {"startDate": "2010-01-01", "endDate": "2026-01-01"},
    ],
)
def test_invalid(params):
    with pytest.raises(InvalidDateRange):
        parse_date_range(params, today=TODAY)
