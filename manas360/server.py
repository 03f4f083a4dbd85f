"""The production HTTP server: `python -m manas360.server` serves the WSGI application with granian.

Granian (a Rust HTTP server) was chosen by measurement (docs/architecture-decisions.md,
docs/performance.md). This module is the one place its settings live, so the container, compose, Kubernetes,
the tests' server fixture, the benchmark and the load test all start the same server the same way.

Everything is read from the environment:

- PORT (default 5000) or WEB_BIND (`host:port`, default `0.0.0.0:$PORT`).
- WEB_WORKERS (default: one process per core the process may run on) and WEB_THREADS (default 4: the
  threads of each process that run the application; they overlap one request's PostgreSQL, Redis and
  PhonePe waits with another's work). Each thread keeps at most one persistent PostgreSQL connection
  (DB_CONN_MAX_AGE), so one instance opens at most workers x threads connections.
- WEB_GRACEFUL_TIMEOUT (default 30 s): on SIGTERM or SIGINT the server stops accepting connections, the
  workers finish the requests they are serving and exit; a worker still busy after this long is killed.
- WEB_BACKLOG (default 2048): connections the kernel queues while every thread is busy.
- WEB_WORKER_LIFETIME (seconds, at least 60) and WEB_WORKER_MAX_RSS (MiB): recycle a worker after that long
  or once its memory passes that size (both off by default: the load test shows memory stays flat). Memory
  is sampled every WEB_WORKER_RSS_INTERVAL seconds (default 30). The new worker starts before the old one
  stops, and the old one finishes its requests as on SIGTERM.
- WEB_LOG_LEVEL (default info): the server's own lines (start, stop, worker respawns) on standard error.
- PROMETHEUS_MULTIPROC_DIR: where the workers write their metric files so that /metrics adds up every worker.
  When unset and there is more than one worker, a private temporary directory is made for this server.

Keep-alive is on (HTTP/1.1), so nginx's upstream keep-alive and load balancers reuse connections. The
application writes its own JSON access-log line per request (manas360.middleware), so the server's is off.

Granian has no per-request time limit (no worker timeout). What bounds a request is the work it waits
on: PostgreSQL's statement timeout (DB_STATEMENT_TIMEOUT_MS), Redis' socket timeouts, the PhonePe client's
timeouts, and in front, nginx's proxy_read_timeout (docs/architecture-decisions.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server
from granian.server.common import AbstractServer

WSGI_TARGET = "manas360.wsgi:application"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours container CPU sets
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# Idle application threads are kept this long (granian's maximum, in seconds) rather than its 30 s default:
# each thread holds a persistent PostgreSQL connection (DB_CONN_MAX_AGE), which would otherwise be dropped and
# opened again after every quiet half-minute.
THREAD_IDLE_TIMEOUT = 600

# When a worker is recycled, its replacement starts first and the old one is told to stop this many seconds
# later (granian's default is 3.5 s). The replacement must have loaded the application by then, or nothing
# listens in between: with one worker, connections are refused until it has (tests/test_web_server.py).
RESPAWN_INTERVAL = 10.0


def _int(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    workers: int
    threads: int
    graceful_timeout: int
    backlog: int
    worker_lifetime: int | None
    worker_max_rss: int | None
    worker_rss_interval: int
    log_level: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ServerConfig:
        bind = environ.get("WEB_BIND", "").strip() or f"0.0.0.0:{_int(environ, 'PORT', 5000)}"
        host, _, port = bind.rpartition(":")
        if not port.isdigit():
            raise SystemExit(f"WEB_BIND must be host:port, not {bind!r}")
        log_level = environ.get("WEB_LOG_LEVEL", "").strip().lower() or "info"
        if log_level not in LOG_LEVELS:
            raise SystemExit(f"WEB_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
        lifetime = _int(environ, "WEB_WORKER_LIFETIME", None)
        if lifetime is not None and lifetime < 60:
            raise SystemExit("WEB_WORKER_LIFETIME must be at least 60 seconds")
        return cls(
            host=host.strip("[]") or "0.0.0.0",  # noqa: S104 - a container listens on every interface
            port=int(port),
            workers=max(_int(environ, "WEB_WORKERS", cores()) or 1, 1),
            threads=max(_int(environ, "WEB_THREADS", 4) or 1, 1),
            graceful_timeout=max(_int(environ, "WEB_GRACEFUL_TIMEOUT", 30) or 1, 1),
            backlog=max(_int(environ, "WEB_BACKLOG", 2048) or 128, 128),
            worker_lifetime=lifetime,
            worker_max_rss=_int(environ, "WEB_WORKER_MAX_RSS", None),
            worker_rss_interval=max(_int(environ, "WEB_WORKER_RSS_INTERVAL", 30) or 1, 1),
            log_level=log_level,
        )


def require_shared_cache(workers: int, environ: Mapping[str, str]) -> None:
    """Rate limits live in the cache: per-process caches would multiply every limit by the worker count."""
    if workers > 1 and not environ.get("REDIS_URL", "").strip():
        raise SystemExit(f"Set REDIS_URL: {workers} workers cannot share rate limits through in-process caches.")


def prepare_metrics_dir(workers: int, environ: MutableMapping[str, str]) -> str | None:
    """Give the workers one metrics directory, empty: files of a previous run's workers would be counted.

    Runs before any worker starts, so the workers inherit the variable (prometheus_client reads it when the
    application's metrics are created, in each worker). Returns the directory this server owns (to remove
    on exit), or None when it was given or not needed.
    """
    directory = environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    owned = None
    if not directory:
        if workers <= 1:
            return None
        directory = owned = tempfile.mkdtemp(prefix="manas360-metrics-")
        environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    return owned


def build_server(config: ServerConfig) -> AbstractServer[Any]:
    return Server(
        WSGI_TARGET,
        address=config.host,
        port=config.port,
        interface=Interfaces.WSGI,
        workers=config.workers,
        blocking_threads=config.threads,
        blocking_threads_idle_timeout=THREAD_IDLE_TIMEOUT,
        backlog=config.backlog,
        http1_settings=HTTP1Settings(keep_alive=True),
        log_level=LogLevels(config.log_level),
        log_access=False,
        workers_kill_timeout=config.graceful_timeout,
        workers_lifetime=config.worker_lifetime,
        workers_max_rss=config.worker_max_rss,
        rss_sample_interval=config.worker_rss_interval,
        respawn_failed_workers=True,
        respawn_interval=RESPAWN_INTERVAL,
    )


def main() -> None:
    environ = os.environ
    config = ServerConfig.from_environ(environ)
    require_shared_cache(config.workers, environ)
    owned_metrics_dir = prepare_metrics_dir(config.workers, environ)
    try:
        build_server(config).serve()
    finally:
        if owned_metrics_dir:
            shutil.rmtree(owned_metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
