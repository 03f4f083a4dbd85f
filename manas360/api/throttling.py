"""Rate limits (docs/api.md §10) as DRF throttles on the Django cache (Redis when REDIS_URL is set).

Fixed windows counted with one atomic INCR per throttle and request (on Redis one server-side script doing
INCR + EXPIRE NX), so the hot path costs one cache round trip, not DRF's read-modify-write of a timestamp
list. Limits key on the real client IP (`client_ip`, TRUSTED_PROXY_COUNT) or on the user / the OTP
identifier. A throttled request answers 429 `throttled` with `Retry-After`; every response of a throttled
endpoint carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` for its most restrictive
limit (RateLimitHeadersMiddleware). If the cache is unreachable the limit fails open with a logged warning: an
outage of Redis must not take sign-in down.

Rates come from settings.RATE_LIMITS ("<count>/<period>", period like `m`, `15m`, `900s`, `h`), each
overridable by environment. The domain limits (sign-in codes, admin sign-in) live with their domain
(`accounts/throttling.py`); this module is the shared machinery and the two global limits. Health, metrics
and the webhook are not limited (plain Django views, or `throttle_classes = []`).
"""

import abc
import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from manas360 import shared_redis
from manas360.api.client_ip import client_ip

if TYPE_CHECKING:  # rest_framework.views reads the throttle settings on import, which name this module
    from rest_framework.views import APIView

logger = logging.getLogger("manas360.throttling")

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@functools.lru_cache(maxsize=64)  # a few configured rates, read on every throttled request
def parse_rate(rate: str) -> tuple[int, int]:
    """'300/m' -> (300, 60); '5/15m' -> (5, 900); '10/900s' -> (10, 900)."""
    match = _RATE.match(rate.lower())
    if not match or (match.group(3).rstrip("s") not in _UNITS and match.group(3) not in _UNITS):
        raise ValueError(f"Bad rate {rate!r}: use '<count>/<period>', e.g. '5/15m'.")
    unit = match.group(3) if match.group(3) in _UNITS else match.group(3).rstrip("s")
    return int(match.group(1)), int(match.group(2) or 1) * _UNITS[unit]


# What a failing cache raises (redis-py's errors, socket errors); callers fail open on these.
CACHE_ERRORS: tuple[type[BaseException], ...] = shared_redis.ERRORS


# INCR, and a time to live on a counter that has none yet, as one atomic command: one EVALSHA per hit on the
# shared long-lived client (manas360.shared_redis). Same single round trip and atomicity as MULTI/INCR/EXPIRE
# NX/EXEC, without a pipeline object per hit. redis-py reloads the script when the server lost it (restart).
_INCR_WITH_TTL = """
local hits = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return hits
"""


def _count_hit(key: str, period: int) -> int:
    """Atomically add one hit to the window's counter and return it."""
    client = shared_redis.client()
    if client is not None:
        return int(
            shared_redis.script(client, _INCR_WITH_TTL)(keys=[cache.make_and_validate_key(key)], args=[period + 1])
        )
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return cache.incr(key)


def _record_headers(request: Request | HttpRequest, *, limit: int, remaining: int, reset: int) -> None:
    django_request: HttpRequest = getattr(request, "_request", request)
    current = getattr(django_request, "ratelimit", None)
    if current is None or (remaining, limit) < (current[1], current[0]):
        django_request.ratelimit = (limit, remaining, reset)  # type: ignore[attr-defined]  # read by the middleware


class WindowRateThrottle(abc.ABC, BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: int | None = None

    @abc.abstractmethod
    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        """What this limit counts on (client IP, user id, OTP identifier); None skips the limit."""

    def get_ident(self, request: Request | HttpRequest) -> str:
        """DRF's "which machine is this": the real client IP, behind TRUSTED_PROXY_COUNT proxies."""
        return client_ip(request)

    def allow_request(self, request: Request | HttpRequest, view: "APIView | None") -> bool:
        ident = self.limit_key(request, view)
        if ident is None:
            return True
        limit, period = parse_rate(settings.RATE_LIMITS[self.scope])
        now = time.time()
        window = int(now // period)
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        key = f"throttle:{self.scope}:{digest}:{window}"
        try:
            hits = _count_hit(key, period)
        except CACHE_ERRORS as exc:
            logger.warning("rate limit cache unavailable; allowing request", extra={"error_class": type(exc).__name__})
            return True
        reset = max(int((window + 1) * period - now + 0.999), 1)
        _record_headers(request, limit=limit, remaining=max(limit - hits, 0), reset=reset)
        if hits > limit:
            self._wait = reset
            return False
        return True

    def wait(self) -> int | None:
        return self._wait


class AnonymousRateThrottle(WindowRateThrottle):
    """Anonymous requests: 300/min per client IP."""

    scope = "anon"

    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)


class UserRateThrottle(WindowRateThrottle):
    """Signed-in requests: 1000/min per user."""

    scope = "user"

    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class ClientIpRateThrottle(WindowRateThrottle):
    """Base of the limits counted per client IP (subclasses set `scope`)."""

    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        return self.get_ident(request)


class RateLimitHeadersMiddleware:
    """Copies the most restrictive limit seen by the throttles onto the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        info = getattr(request, "ratelimit", None)
        if info is not None:
            limit, remaining, reset = info
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        return response
