"""Liveness, readiness and metrics endpoints (docs/api.md §9): no auth, never rate-limited."""

import contextlib
import hmac
import ipaddress
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from manas360 import metrics
from manas360.api.client_ip import client_ip
from manas360.api.envelope import application_error_json_response
from manas360.api.errors import NotFound, Unauthorized

_STARTED_AT = time.monotonic()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _database_latency_ms() -> float:
    """Round-trip one trivial query; raises DatabaseError when the database is down."""
    started = time.perf_counter()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return round((time.perf_counter() - started) * 1000, 2)


def _close_broken_connection() -> None:
    # A dead connection must not be reused by the next request on this thread.
    connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()
    with contextlib.suppress(DatabaseError):
        connections[DEFAULT_DB_ALIAS].close()


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "status": "ok",
            "timestamp": _now_iso(),
            "uptime": round(time.monotonic() - _STARTED_AT, 3),
            "version": settings.VERSION,
        }
    )


@require_GET
def health_db(request: HttpRequest) -> HttpResponse:
    try:
        latency_ms = _database_latency_ms()
    except DatabaseError:
        _close_broken_connection()
        return JsonResponse({"status": "error", "database": "unreachable", "timestamp": _now_iso()}, status=503)
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    return JsonResponse(
        {"status": "ok", "database": "connected", "vendor": vendor, "latencyMs": latency_ms, "timestamp": _now_iso()}
    )


def _pending_migrations() -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _cache_answers() -> bool:
    probe_key = "health:ready:probe"
    try:
        cache.set(probe_key, "1", timeout=5)
        return bool(cache.get(probe_key) == "1")
    except Exception:  # noqa: BLE001 - any cache backend failure means "not ready"
        return False


@require_GET
def health_ready(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        _database_latency_ms()
        checks["database"] = "ok"
        pending = _pending_migrations()
        checks["migrations"] = "ok" if pending == 0 else f"{pending} pending"
    except DatabaseError:
        _close_broken_connection()
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    checks["cache"] = "ok" if _cache_answers() else "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "error", "checks": checks, "timestamp": _now_iso()}, status=200 if ready else 503
    )


def _from_allowed_network(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if settings.METRICS_ALLOWED_NETWORKS and not _from_allowed_network(request):
        return application_error_json_response(NotFound())  # not published outside the internal network
    expected = settings.METRICS_TOKEN
    if expected:
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {expected}".encode()):
            return application_error_json_response(Unauthorized("A valid metrics token is required."))
    return HttpResponse(metrics.render_latest(), content_type=CONTENT_TYPE_LATEST)
