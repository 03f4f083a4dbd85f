"""The date range every analytics endpoint takes (docs/api.md §8, §11 "Analytics").

`startDate`/`endDate` are calendar days in UTC, both inclusive: the range runs from
00:00 UTC on the start day up to (not including) 00:00 UTC on the day after the end.
`period` (7d, 30d, 90d, 1y) means the last N days ending today. Without either, the
last 30 days. Anything else is 400 `invalid_date_range`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from analytics.errors import InvalidDateRange
from manas360.api.dates import end_of_day, parse_day, start_of_day

PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}
DEFAULT_PERIOD = "30d"
# Long enough for any report the dashboard offers; short enough that a daily series stays small.
MAX_RANGE_DAYS = 5 * 366


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive
    period: str  # "7d" | "30d" | "90d" | "1y" | "custom"

    @property
    def start_at(self) -> datetime:
        return start_of_day(self.start)

    @property
    def end_before(self) -> datetime:
        """The first instant after the range (00:00 UTC the day after `end`)."""
        return end_of_day(self.end)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]

    def as_dict(self) -> dict[str, str]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}


def _parse_day(raw: str, name: str) -> date:
    try:
        return parse_day(raw)
    except ValueError as exc:
        raise InvalidDateRange(f"{name} {exc}") from exc


def _first(params: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return None


def parse_date_range(params: Mapping[str, Any], *, today: date) -> DateRange:
    """Read `startDate`, `endDate` and `period` from query parameters; `today` is the caller's (UTC) day."""
    raw_start = _first(params, "startDate", "start_date")
    raw_end = _first(params, "endDate", "end_date")
    raw_period = _first(params, "period")

    if raw_period is not None and raw_period not in PERIOD_DAYS:
        raise InvalidDateRange("period must be one of 7d, 30d, 90d, 1y.")

    if raw_start is None and raw_end is None:
        period = raw_period or DEFAULT_PERIOD
        return DateRange(start=today - timedelta(days=PERIOD_DAYS[period] - 1), end=today, period=period)

    # Explicit dates win over `period`; a missing side is filled in from the other one.
    end = _parse_day(raw_end, "endDate") if raw_end is not None else None
    start = _parse_day(raw_start, "startDate") if raw_start is not None else None
    span = PERIOD_DAYS[raw_period or DEFAULT_PERIOD]
    if end is None:
        end = today if start is None else max(today, start)
    if start is None:
        start = end - timedelta(days=span - 1)
    if end < start:
        raise InvalidDateRange("endDate must not be before startDate.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidDateRange(f"The date range may span at most {MAX_RANGE_DAYS} days.")
    return DateRange(start=start, end=end, period="custom")
