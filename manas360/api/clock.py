"""The time of a request: read once, then passed down (docs/contributing.md, "Time is an input").

Services and selectors take `now` from their caller. A view asks `request_now(request)` for it: the first call
reads the clock and keeps the value on the request, so every later call (another helper, a serializer's
context) sees the same instant and one request never straddles two clock readings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

_ATTRIBUTE = "_manas360_now"


def request_now(request: Any) -> datetime:
    """The request's `now`: the clock as first read for this request."""
    # DRF's Request wraps Django's HttpRequest: keep the value on the inner one, which both see.
    target = getattr(request, "_request", request)
    now: datetime | None = getattr(target, _ATTRIBUTE, None)
    if now is None:
        now = timezone.now()
        setattr(target, _ATTRIBUTE, now)
    return now
