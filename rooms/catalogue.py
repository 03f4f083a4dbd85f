"""The theme catalogue's list pages, answered from a per-instance cache before DRF runs (docs/performance.md).

The catalogue is public, read by every visitor's first screen, and changes rarely. `answer_from_cache` wraps the
list view (rooms/urls.py): a request whose page this instance already served under the current catalogue
version is answered with the bytes and headers the view produced, without DRF's request machinery; anything
else goes to the view, whose 200 answer is then kept.

- **Key**: the catalogue version, the `Accept` header (the renderer honours its parameters), page, limit and
  filters, and the caller class: signed in or not, and which tiers the caller's entitlements open (the cards'
  `locked` flags). A signed-in caller is authenticated and their subscription read exactly as the view does,
  with the view's own authentication classes; a refused caller goes to the view, which answers the refusal.
- **Rate limit**: a hit is counted by the view's own throttles (the shared limit). A caller over the limit goes
  to the view, which counts it once more (it is over the limit either way) and answers the 429.
- **Version**: an integer in Django's cache (Redis in production), shared by every instance. Every change of a
  theme or a plan increments it (`catalogue_changed`: model signals, and the session counters' `update()`), at
  once and again when the change commits, so every instance misses on its next request, and a page built
  before the commit is never kept under the version written after it. A lost version (Redis restarted or
  flushed) starts again from a random number, never one a page was kept under. If the cache cannot be
  reached, pages are built and not kept; if a change could not reach it, pages older than MAX_AGE_SECONDS are
  rebuilt anyway.
- **Conditional GET**: every 200 list answer carries a strong ETag of its body (Django's `set_response_etag`)
  and the view's `Cache-Control: no-cache` (public anonymous, private signed in); a matching `If-None-Match`
  gets a 304 without the body, cached or not.
"""

import functools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, set_response_etag
from rest_framework.exceptions import APIException
from rest_framework.views import APIView

from manas360.api.clock import request_now
from manas360.api.throttling import CACHE_ERRORS
from rooms.access import tier_is_open
from rooms.models import ThemeTier
from rooms.selectors import caller_entitlements

logger = logging.getLogger("manas360.rooms")

VERSION_KEY = "rooms:catalogue:version"
MAX_PAGES = 512  # per process; filters are free text, so the table is emptied when full
MAX_AGE_SECONDS = 300
# The query parameters that change the answer: the list's own (rooms.views.ThemeListView) and DRF's
# renderer override (URL_FORMAT_OVERRIDE); others are ignored by the view.
QUERY_PARAMETERS = ("page", "limit", "category", "tier", "search", "format")


@dataclass(frozen=True, slots=True)
class _Page:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    expires: float


_pages: dict[tuple[object, ...], _Page] = {}


def _new_version() -> int:
    return secrets.randbelow(2**62)


def current_version() -> int | None:
    """The catalogue's version, or None when the shared cache cannot be reached (then nothing is kept)."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, _new_version(), timeout=None)
            version = cache.get(VERSION_KEY)
    except CACHE_ERRORS as exc:
        logger.warning("catalogue version unavailable; not caching", extra={"error_class": type(exc).__name__})
        return None
    return version if isinstance(version, int) else None


def _next_version() -> None:
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version (never read, or lost): a new random one
            cache.add(VERSION_KEY, _new_version(), timeout=None)
    except CACHE_ERRORS as exc:
        logger.error(
            "catalogue version not changed; cached pages expire by age", extra={"error_class": type(exc).__name__}
        )


def catalogue_changed() -> None:
    """A theme or a plan changed: every instance rebuilds its pages on its next request."""
    _next_version()
    transaction.on_commit(_next_version)


def caller_class(
    user: AbstractBaseUser | AnonymousUser | None, entitlements: frozenset[str]
) -> tuple[bool, tuple[bool, ...]]:
    """What the page depends on about the caller: signed in (Cache-Control) and the tiers open to them."""
    open_tiers = tuple(tier_is_open(tier, entitlements) for tier in ThemeTier.values)
    return bool(user is not None and user.is_authenticated), open_tiers


def mark_caller(response: HttpResponseBase, caller: tuple[bool, tuple[bool, ...]]) -> None:
    """Tell `answer_from_cache` which caller class the view built this answer for (the key it is kept under)."""
    response.catalogue_caller = caller  # type: ignore[attr-defined]  # read by answer_from_cache


def _conditional(request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
    """304 for a matching If-None-Match, else the response (Django's conditional-GET rules)."""
    return get_conditional_response(request, etag=response.get("ETag"), response=response) or response


def answer_from_cache(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap the catalogue list view (`ThemeListView.as_view()`) with the page cache described above."""
    view_class = view.cls  # type: ignore[attr-defined]  # set by APIView.as_view()

    @functools.wraps(view)  # keeps csrf_exempt and `cls` (drf-spectacular reads it)
    def cached_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "GET":
            return view(request, *args, **kwargs)
        version = current_version()
        query = (request.META.get("HTTP_ACCEPT", ""), *(request.GET.get(name) for name in QUERY_PARAMETERS))
        if version is not None:
            hit = _answer_hit(request, view_class(), (version, *query))
            if hit is not None:
                return hit
        response = view(request, *args, **kwargs)
        if response.status_code != 200 or not hasattr(response, "catalogue_caller"):
            return response
        response.render()  # type: ignore[attr-defined]  # a DRF Response: its bytes are needed now
        set_response_etag(response)
        if version is not None:
            _keep(version, query, response)
        return _conditional(request, cast(HttpResponse, response))  # a rendered DRF Response

    return cached_view


def _answer_hit(request: HttpRequest, view: APIView, key: tuple[object, ...]) -> HttpResponseBase | None:
    """The kept page for this caller, counted by the view's throttles; None when the view must answer."""
    try:
        found = None
        for authenticator in view.get_authenticators():
            # The authenticators read only headers, which the plain request has (the view is not dispatched).
            found = authenticator.authenticate(request)  # type: ignore[arg-type]
            if found is not None:
                break
    except APIException:
        return None  # refused: the view answers with its error
    user = found[0] if found is not None else None
    page = _pages.get((*key, caller_class(user, caller_entitlements(user=user, now=request_now(request)))))
    if page is None or page.expires < time.monotonic():
        return None
    # What the throttles key on (DRF's Request sets the same on the request it wraps).
    request.user = user or AnonymousUser()
    # Each throttle counts, as in DRF; they read the user and the address, which the plain request has.
    allowed = [throttle.allow_request(request, view) for throttle in view.get_throttles()]  # type: ignore[arg-type]
    if not all(allowed):
        return None
    response = HttpResponse(page.body)
    for name, value in page.headers:
        response[name] = value
    return _conditional(request, response)


def _keep(version: int, query: tuple[object, ...], response: HttpResponseBase) -> None:
    if len(_pages) >= MAX_PAGES:
        _pages.clear()
    _pages[(version, *query, response.catalogue_caller)] = _Page(  # type: ignore[attr-defined]  # mark_caller
        body=response.content,  # type: ignore[attr-defined]  # rendered above
        headers=tuple(response.items()),
        expires=time.monotonic() + MAX_AGE_SECONDS,
    )


def forget_pages() -> None:
    _pages.clear()
