"""The theme catalogue's list pages, rendered once per instance and catalogue version (docs/performance.md).

The catalogue is public, read by every visitor's first screen, and changes rarely: rebuilding it on every
request was most of `GET /themed-rooms/themes`. Each instance keeps the rendered bytes of the pages it served,
keyed by the catalogue's version stamp, the query (page, limit, filters), the negotiated media type and the
caller class (which tiers are open to the caller: the cards' `locked` flags). The stamp is a random token in
the shared cache (Redis in production). Every change of a theme or a plan replaces it (`catalogue_changed`:
model signals, and the session counters' `update()`), at once and again when the change commits, so every
instance misses on its next request after the change, and a page read before the commit is never kept under
the stamp written after it. A lost stamp (Redis restarted or flushed) is recreated as a new random token:
never one a page was cached under. If Redis cannot be reached, pages are built and not cached; if a change
could not replace the stamp, pages older than MAX_AGE_SECONDS are rebuilt anyway.

Every list answer carries a strong ETag (the body's hash) and `Cache-Control: no-cache` (public for anonymous
callers, private for signed-in ones, `Vary: Authorization, Cookie`), so browsers, nginx or a CDN revalidate
and get a 304 without the body.
"""

import hashlib
import logging
import time
import uuid

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from manas360 import shared_redis
from manas360.api.throttling import shared_read

logger = logging.getLogger("manas360.rooms")

STAMP_KEY = "rooms:catalogue:stamp"
MAX_PAGES = 512  # per process; filters are free text, so the table is emptied when full
MAX_AGE_SECONDS = 300

# The stamp, created when missing, in one round trip (when no rate-limit hit brought it).
_READ_STAMP = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""
_pages: dict[tuple[object, ...], tuple[str, bytes, float]] = {}


def new_token() -> str:
    return uuid.uuid4().hex


# For the list view's `rate_limit_reads`: the stamp comes with the rate-limit hit, in the same round trip.
STAMP_READ = {STAMP_KEY: new_token}


def current_stamp(request: HttpRequest | None = None) -> str | None:
    """The catalogue's version stamp, or None when the shared cache cannot be reached (then nothing is cached).

    Read with the request's rate-limit hit when there was one, else on its own.
    """
    if request is not None:
        stamp = shared_read(request, STAMP_KEY)
        if stamp is not None:
            return stamp
    try:
        client = shared_redis.client()
        if client is None:
            cache.add(STAMP_KEY, new_token(), timeout=None)
            stamp_now: str | None = cache.get(STAMP_KEY)
            return stamp_now
        read_stamp = shared_redis.script(client, _READ_STAMP)
        value = read_stamp(keys=[cache.make_and_validate_key(STAMP_KEY)], args=[new_token()])
    except shared_redis.ERRORS as exc:
        logger.warning("catalogue stamp unavailable; not caching", extra={"error_class": type(exc).__name__})
        return None
    return value.decode() if isinstance(value, bytes) else value


def _replace_stamp() -> None:
    token = new_token()
    try:
        client = shared_redis.client()
        if client is None:
            cache.set(STAMP_KEY, token, timeout=None)
        else:
            client.set(cache.make_and_validate_key(STAMP_KEY), token)
    except shared_redis.ERRORS as exc:
        logger.error(
            "catalogue stamp not replaced; cached pages expire by age", extra={"error_class": type(exc).__name__}
        )


def catalogue_changed() -> None:
    """A theme or a plan changed: every instance rebuilds its pages on its next request."""
    _replace_stamp()
    transaction.on_commit(_replace_stamp)


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def cached_page(key: tuple[object, ...]) -> tuple[str, bytes] | None:
    """(ETag, body) of a page rendered under this key, if still fresh."""
    entry = _pages.get(key)
    if entry is None or entry[2] < time.monotonic():
        return None
    return entry[0], entry[1]


def keep_page(key: tuple[object, ...], body: bytes) -> str:
    """Remember a rendered page; returns its ETag."""
    etag = etag_of(body)
    if len(_pages) >= MAX_PAGES:
        _pages.clear()
    _pages[key] = (etag, body, time.monotonic() + MAX_AGE_SECONDS)
    return etag


def forget_pages() -> None:
    _pages.clear()
