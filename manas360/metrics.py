"""Prometheus metrics (docs/api.md §9).

Under the server with several workers (manas360/server.py) PROMETHEUS_MULTIPROC_DIR is set so the
workers share one set of counters; without it each process reports its own.
"""

import contextlib
import os

import psutil
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

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


class _ServerMemoryCollector:
    """Resident memory of every process of this server (granian's main process and its workers).

    prometheus_client's process collector describes only the process that
    answers the scrape, which under several workers is one worker chosen at
    random; this reports each of them, labelled by pid and role. The workers
    are forked from the main process (`python -m manas360.server`), so they
    share its command line; any other child it may have is not a worker.
    """

    def collect(self):
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


def render_latest() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_ServerMemoryCollector())
        registry.register(_JOBS_COLLECTOR)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
