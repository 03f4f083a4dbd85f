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
import hashlib
import logging
import re
import time
import weakref

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from manas360.api.client_ip import client_ip

logger = logging.getLogger("manas360.throttling")

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    """'300/m' -> (300, 60); '5/15m' -> (5, 900); '10/900s' -> (10, 900)."""
    match = _RATE.match(rate.lower())
    if not match or (match.group(3).rstrip("s") not in _UNITS and match.group(3) not in _UNITS):
        raise ValueError(f"Bad rate {rate!r}: use '<count>/<period>', e.g. '5/15m'.")
    unit = match.group(3) if match.group(3) in _UNITS else match.group(3).rstrip("s")
    return int(match.group(1)), int(match.group(2) or 1) * _UNITS[unit]


# What a failing cache raises (redis-py's errors, socket errors); callers fail open on these.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


# INCR, and a time to live on a counter that has none yet, as one atomic command: one EVALSHA per hit, on one
# long-lived client per connection pool. (Django's `get_client()` builds a new `redis.Redis` on every call and
# a pipeline builds another object: each copies redis-py's ~170 response callbacks, which was most of the
# throttle's CPU. Same single round trip, same atomicity as the former MULTI/INCR/EXPIRE NX/EXEC.)
_INCR_WITH_TTL = """
local hits = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return hits
"""
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_script = None


def _redis_client(backend_cache, full_key: str):
    """A reusable redis.Redis over the cache's own write pool (thread-safe: the pool hands out connections)."""
    get_pool = getattr(backend_cache, "_get_connection_pool", None)
    if get_pool is None:  # another cache client implementation: its own way of making clients
        return backend_cache.get_client(full_key, write=True)
    pool = get_pool(True)
    client = _clients.get(pool)
    if client is None:
        client = _clients[pool] = backend_cache._client(connection_pool=pool)
    return client


def _count_hit(key: str, period: int) -> int:
    """Atomically add one hit to the window's counter and return it."""
    global _script
    backend_cache = getattr(cache, "_cache", None)
    if getattr(backend_cache, "get_client", None) is not None and hasattr(cache, "make_and_validate_key"):
        full_key = cache.make_and_validate_key(key)
        client = _redis_client(backend_cache, full_key)
        if _script is None:
            _script = client.register_script(_INCR_WITH_TTL)  # redis-py loads it on a server that lacks it
        return int(_script(keys=[full_key], args=[period + 1], client=client))
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return cache.incr(key)


def _record_headers(request, *, limit: int, remaining: int, reset: int) -> None:
    django_request = getattr(request, "_request", request)
    current = getattr(django_request, "ratelimit", None)
    if current is None or (remaining, limit) < (current[1], current[0]):
        django_request.ratelimit = (limit, remaining, reset)


class WindowRateThrottle(abc.ABC, BaseThrottle):
    scope = ""

    def __init__(self):
        self._wait = None

    @abc.abstractmethod
    def get_ident(self, request, view) -> str | None:
        """What this limit counts on (client IP, user id, OTP identifier); None skips the limit."""

    def allow_request(self, request, view):
        ident = self.get_ident(request, view)
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

    def wait(self):
        return self._wait


class AnonymousRateThrottle(WindowRateThrottle):
    """Anonymous requests: 300/min per client IP."""

    scope = "anon"

    def get_ident(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return client_ip(request)


class UserRateThrottle(WindowRateThrottle):
    """Signed-in requests: 1000/min per user."""

    scope = "user"

    def get_ident(self, request, view):
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class ClientIpRateThrottle(WindowRateThrottle):
    """Base of the limits counted per client IP (subclasses set `scope`)."""

    def get_ident(self, request, view):
        return client_ip(request)


class RateLimitHeadersMiddleware:
    """Copies the most restrictive limit seen by the throttles onto the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        info = getattr(request, "ratelimit", None)
        if info is not None:
            limit, remaining, reset = info
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        return response
