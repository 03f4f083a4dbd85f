"""Dates and date-times taken from query parameters: one parser for every filter (staff lists, analytics).

A value the database or Python cannot hold must be a 400, never an `OverflowError` (500): `9999-12-31` is a
valid date, but "the end of that day" (the next midnight) is not, and neither is `0001-01-01T00:00+05:30` in
UTC. So every value is kept between the years `MIN_YEAR` and `MAX_YEAR`, far inside what `datetime` and
PostgreSQL hold, and a bound moved by a day or a microsecond stays representable. Callers turn the
`ValueError` (its message is meant for the client) into their own 400 code.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

MIN_YEAR, MAX_YEAR = 1900, 9000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OUT_OF_RANGE = f"must be between the years {MIN_YEAR} and {MAX_YEAR}."


def parse_day(text: str) -> date:
    """A calendar day written `YYYY-MM-DD`."""
    if not _DAY.match(text):
        raise ValueError("must be a date in the form YYYY-MM-DD.")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("is not a valid calendar date.") from exc
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return day


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time (`Z` or an offset; none means UTC), returned in UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 date-time.") from exc
    if not MIN_YEAR <= moment.year <= MAX_YEAR:  # checked before the conversion, which could overflow
        raise ValueError(_OUT_OF_RANGE)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """00:00 UTC on `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def end_of_day(day: date) -> datetime:
    """The first instant after `day` (00:00 UTC the next day), for `< end` comparisons."""
    return start_of_day(day) + timedelta(days=1)
