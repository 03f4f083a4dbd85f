"""Gunicorn settings for MANAS360 (production server: `gunicorn -c gunicorn.conf.py manas360.wsgi:application`).

Everything is read from the environment so that the container, the tests and the
benchmarks run the same file:

- GUNICORN_WORKERS (default: one per core) and GUNICORN_THREADS (default 4: the
  threaded worker, which keeps client connections alive between requests, so
  nginx's upstream keep-alive works; 1 gives sync workers, which close every
  connection after one request: docs/performance.md measures both). The threads
  overlap one request's PostgreSQL, Redis and PhonePe waits with another's work,
  so a second process per core adds no capacity, only its own memory, database
  connections and cache misses: measured 15-45 % fewer requests/s with the old
  2 x cores + 1 on the same core (docs/performance.md). Each worker
  thread keeps at most one persistent PostgreSQL connection (DB_CONN_MAX_AGE), so
  one instance opens at most workers x threads connections: size max_connections
  for that times the number of instances.
- PORT (default 5000) or GUNICORN_BIND (default 0.0.0.0:$PORT).
- GUNICORN_TIMEOUT (default 60 s: above the 30 s DB statement timeout, so the
  database gives up first and the client gets a JSON error, not a killed worker).
- GUNICORN_GRACEFUL_TIMEOUT (default 30 s): on SIGTERM the master closes its
  listening sockets, workers finish the requests they are serving and exit;
  whatever is still running after this many seconds is killed.
- PROMETHEUS_MULTIPROC_DIR: where the workers write their metric files so that
  /metrics adds up every worker. When unset and there is more than one worker,
  a private temporary directory is created for this server.
"""

import json
import os
import shutil
import tempfile
import uuid

from gunicorn import util as gunicorn_util


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours container CPU sets
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 5000)}"
workers = max(_int("GUNICORN_WORKERS", _cores()), 1)
threads = max(_int("GUNICORN_THREADS", 4), 1)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind nginx (or a cloud load balancer) connections are reused: keep them a little longer than the default 2 s.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycling workers is off by default (the load test shows memory stays flat); set it to bound a leak.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", max(max_requests // 10, 0))
backlog = _int("GUNICORN_BACKLOG", 2048)
# Over-long request lines and headers: nginx in front refuses lines over 4 KiB first (deploy/nginx/default.conf);
# without it gunicorn refuses them (414 over this, 431 over limit_request_field_size or limit_request_fields),
# in the JSON envelope too (_write_json_error below).
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)

# The application writes one JSON access-log line per request itself (manas360.middleware).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "manas360"

# Heartbeat files in memory, not on a possibly slow container overlay filesystem.
# gunicorn creates them with mkstemp (private names), so a shared directory is safe.
_SHM = "/dev/shm"  # noqa: S108
if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK):
    worker_tmp_dir = _SHM

# Gunicorn's control socket defaults to one fixed path per user, which several
# instances on one host would fight over; it is opt-in here.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# X-Forwarded-Proto is trusted from these addresses only (the reverse proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Prometheus metrics shared by all workers ------------------------------------
_owned_metrics_dir = None


def _require_shared_cache(workers: int) -> None:
    """Rate limits live in the cache: per-process caches would multiply every limit by the worker count."""
    if workers > 1 and not os.environ.get("REDIS_URL", "").strip():
        raise RuntimeError(f"Set REDIS_URL: {workers} workers cannot share rate limits through in-process caches.")


def on_starting(server):
    """Give the workers one metrics directory, empty: files of a previous run's dead workers would be counted.

    Runs in the master before any worker is forked, so the workers inherit the variable (prometheus_client
    reads it when the application's metrics are created, in each worker). Refuses to start several workers
    without a shared cache (REDIS_URL), in development too.
    """
    global _owned_metrics_dir
    _require_shared_cache(server.cfg.workers)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        if server.cfg.workers <= 1:
            return
        directory = _owned_metrics_dir = tempfile.mkdtemp(prefix="manas360-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _owned_metrics_dir:
        shutil.rmtree(_owned_metrics_dir, ignore_errors=True)


# --- Refusals gunicorn writes itself answer the JSON envelope ----------------------------------------------
# Requests gunicorn cannot parse or refuses by its limits (over-long request line: 414, too large or too many
# headers: 431, malformed: 400) never reach Django, and gunicorn writes them with `gunicorn.util.write_error`,
# an HTML page. Nothing under /api/ may answer HTML whatever is in front (docs/deployment.md), so that one
# function is replaced here, in the master before any worker is forked. The client's text (gunicorn's `mesg`
# quotes the offending line) is never echoed: a fixed message per status, like nginx's error pages.
_SERVER_ERRORS = {
    400: ("bad_request", "Bad request (malformed or too-large headers)."),
    403: ("permission_denied", "Request forbidden."),
    414: ("uri_too_long", "The request line is too long."),
    417: ("bad_request", "Bad request (unsupported expectation)."),
    431: ("request_header_fields_too_large", "The request headers are too large."),
    501: ("bad_request", "Bad request (unsupported transfer coding)."),
}
_SERVER_ERROR_FALLBACK = ("server_error", "Something went wrong. Please try again.")


def _write_json_error(sock, status_int, reason, mesg):
    code, message = _SERVER_ERRORS.get(status_int, _SERVER_ERROR_FALLBACK)
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {"success": False, "message": message, "error": message, "code": code, "requestId": request_id},
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin1") + body)


# An upgrade that renamed it would silently bring the HTML pages back: refuse to start instead.
if not callable(getattr(gunicorn_util, "write_error", None)):
    raise RuntimeError("gunicorn.util.write_error is gone: make gunicorn's own error pages JSON another way.")
gunicorn_util.write_error = _write_json_error
