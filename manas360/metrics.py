"""Prometheus metrics (docs/api.md §9).

Under the server with several workers (manas360/server.py) PROMETHEUS_MULTIPROC_DIR is set so the
workers share one set of counters; without it each process reports its own.
"""

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator

import psutil
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from manas360.job_metrics import JobsCollector

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_QUERIES = Counter("db_queries_total", "Database queries executed while serving requests.", ["route"])
# How the production server is started (`python -m manas360.server`): the main process of the workers.
SERVER_MODULE = "manas360.server"

DB_QUERY_SECONDS = Counter(
    "db_query_seconds_total", "Time spent in database queries while serving requests.", ["route"]
)
# Sign-in code deliveries by provider and outcome: a rising share of `failed` for one provider is an outage.
OTP_DELIVERY_ATTEMPTS = Counter(
    "otp_delivery_attempts_total",
    "OTP delivery attempts by channel, provider and outcome.",
    ["channel", "provider", "outcome"],
)


class _ServerMemoryCollector:
    """Resident memory of every process of this server (granian's main process and its workers).

    prometheus_client's process collector describes only the process that
    answers the scrape, which under several workers is one worker chosen at
    random; this reports each of them, labelled by pid and role. The workers
    are forked from the main process (`python -m manas360.server`), so they
    share its command line; any other child it may have is not a worker.
    """

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "process_resident_memory_bytes", "Resident memory of the server's processes.", labels=["pid", "role"]
        )
        me = psutil.Process()
        processes = [(me, "worker")]
        with contextlib.suppress(psutil.Error):
            master = me.parent()
            command = master.cmdline() if master is not None else []
            if master is not None and SERVER_MODULE in command:
                workers = [child for child in master.children() if child.cmdline() == command]
                processes = [(master, "master")] + [(child, "worker") for child in workers]
        for process, role in processes:
            with contextlib.suppress(psutil.Error):
                family.add_metric([str(process.pid), role], process.memory_info().rss)
        yield family


_JOBS_COLLECTOR = JobsCollector()
DEFAULT_REGISTRY.register(_JOBS_COLLECTOR)
logger = logging.getLogger("manas360.metrics")


class _ReadAtScrape:
    """A collector of an app, read from the database at scrape time (every instance reports the whole
    cluster). A failure is logged and leaves its families out of this scrape; /metrics still answers."""

    def __init__(self, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
        self.name = name
        self._collect = collect

    def describe(self) -> list[Metric]:
        return []  # without this, registering would call `collect` (and query the database) at start

    def collect(self) -> Iterator[Metric]:
        try:
            families = list(self._collect())
        except Exception as exc:  # noqa: BLE001 - /metrics must render whatever happens to one source
            logger.warning("metrics source unavailable", extra={"source": self.name, "error_class": type(exc).__name__})
            return
        yield from families


_APP_COLLECTORS: dict[str, _ReadAtScrape] = {}


def collector_register(name: str, collect: Callable[[], Iterable[Metric]]) -> None:
    """For apps (manas360 imports none): `collect()` yields metric families read at scrape time. Called from
    the app's `AppConfig.ready()`; registering the same name again replaces nothing."""
    if name in _APP_COLLECTORS:
        return
    _APP_COLLECTORS[name] = _ReadAtScrape(name, collect)
    DEFAULT_REGISTRY.register(_APP_COLLECTORS[name])


def render_latest() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
        registry.register(_ServerMemoryCollector())
        registry.register(_JOBS_COLLECTOR)
        for collector in _APP_COLLECTORS.values():
            registry.register(collector)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
