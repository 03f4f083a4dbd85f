"""Request context, access log, metrics and the JSON boundary of `/api/`."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.functional import empty

from manas360 import metrics
from manas360.api.envelope import application_error_json_response
from manas360.api.errors import (
    ApiVersionRetired,
    BadRequest,
    DatabaseUnavailable,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    ValidationFailed,
)
from manas360.request_context import current_user_id, reset_request_id, set_request_id, set_user_id

access_logger = logging.getLogger("manas360.access")
error_logger = logging.getLogger("manas360.errors")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNMATCHED_ROUTE = "unmatched"


class _QueryTimer:
    """connection.execute_wrapper hook counting queries and their time for /metrics."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


def _route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else _UNMATCHED_ROUTE


def _user_id_of(request: HttpRequest) -> str | None:
    """The signed-in user's id, without forcing Django's lazy session user on requests that never used it.

    API authentication records the id in the request context; Django-admin requests have an evaluated
    `request.user`. An unevaluated lazy user means nobody looked: evaluating it here would cost a session
    lookup on every anonymous request.
    """
    user_id = current_user_id()
    if user_id:
        return user_id
    user = request.__dict__.get("user")
    if user is None:
        return None
    user = vars(user).get("_wrapped", user)  # SimpleLazyObject: look inside without evaluating it
    if user is empty or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestContextMiddleware:
    """X-Request-ID in and out, one structured access-log line, and request metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # read by the error handlers
        token = set_request_id(request_id)
        set_user_id(None)
        timer = _QueryTimer()
        started = time.perf_counter()
        try:
            with connection.execute_wrapper(timer):
                response = self.get_response(request)
            response["X-Request-ID"] = request_id
            duration = time.perf_counter() - started
            self._record(request, response.status_code, duration, timer)
            return response
        finally:
            reset_request_id(token)

    @staticmethod
    def _record(request: HttpRequest, status_code: int, duration: float, timer: _QueryTimer) -> None:
        route = _route_of(request)
        metrics.HTTP_REQUESTS.labels(route, request.method, str(status_code)).inc()
        metrics.HTTP_LATENCY.labels(route, request.method).observe(duration)
        if timer.count:
            metrics.DB_QUERIES.labels(route).inc(timer.count)
            metrics.DB_QUERY_SECONDS.labels(route).inc(timer.seconds)
        user_id = _user_id_of(request)
        # The path without its query string: query strings can carry tokens or phone numbers.
        access_logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": status_code,
                "duration_ms": round(duration * 1000, 2),
                "user_id": user_id,
                "db_queries": timer.count,
            },
        )


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/api"


def _is_current_api_path(path: str) -> bool:
    return path.startswith(("/api/v1/", "/api/schema/", "/api/docs/")) or path in (
        "/api/v1",
        "/api/schema",
        "/api/docs",
    )


class ApiBoundaryMiddleware:
    """Everything under /api/ answers JSON (docs/api.md §1).

    Retired paths get 410 before any work, oversized bodies 413 before they are
    read, a Host outside ALLOWED_HOSTS 400, and Django's HTML 400/404/405/500 pages are replaced by the
    envelope. (Over-long request lines never reach Django: nginx answers them in JSON, docs/deployment.md.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path
        if not _is_api_path(path):
            return self.get_response(request)
        if not _is_current_api_path(path):
            return application_error_json_response(ApiVersionRetired())
        # PostgreSQL text cannot hold NUL: an id or filter carrying one can match nothing.
        if "\x00" in path:
            return application_error_json_response(NotFound())
        if "%00" in request.META.get("QUERY_STRING", ""):
            return application_error_json_response(
                ValidationFailed(
                    "Query parameters must not contain NUL characters.",
                    errors={"query": ["Must not contain NUL characters."]},
                )
            )
        content_length = request.META.get("CONTENT_LENGTH") or "0"
        if content_length.isdigit() and int(content_length) > settings.MAX_JSON_BODY_BYTES:
            return application_error_json_response(PayloadTooLarge())
        try:
            request.get_host()  # checked here: deeper in the chain a DisallowedHost becomes Django's HTML 400
        except DisallowedHost:
            return application_error_json_response(BadRequest("This host name is not served here."))
        response = self.get_response(request)
        if response.status_code == 400 and not _is_json(response):  # any other SuspiciousOperation
            return application_error_json_response(BadRequest())
        if response.status_code == 404 and not _is_json(response):
            return application_error_json_response(NotFound())
        if response.status_code == 405 and not _is_json(response):
            return application_error_json_response(MethodNotAllowed())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        """Errors that escaped DRF's handler (or came from plain Django views)."""
        if isinstance(exception, (OperationalError, InterfaceError)):
            error_logger.error("database unavailable", extra={"error_class": type(exception).__name__})
            return application_error_json_response(DatabaseUnavailable())
        if not _is_api_path(request.path):
            return None
        error_logger.exception("unhandled error", extra={"route": _route_of(request), "method": request.method})
        return application_error_json_response(ServerError())


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


# --- Browser-only middleware -------------------------------------------------------------------------
# Django sessions, the session user and flash messages serve the Django admin (a browser with a session
# cookie). The API authenticates every request itself (Bearer or access_token cookie, no Django session),
# and health and metrics need no user: for those paths the three middlewares below do nothing, which
# saves a session object, a lazy user and a message store per request (docs/performance.md). They stay
# subclasses of Django's own so the admin's system checks still find them.

_SESSIONLESS_PREFIXES = ("/api/", "/health", "/metrics")


def _is_sessionless(request: HttpRequest) -> bool:
    return request.path_info.startswith(_SESSIONLESS_PREFIXES)


class BrowserSessionMiddleware(SessionMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if not _is_sessionless(request):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class BrowserAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if not _is_sessionless(request):
            super().process_request(request)


class BrowserMessageMiddleware(MessageMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if not _is_sessionless(request):
            super().process_request(request)
