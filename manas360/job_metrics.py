"""Background-job metrics for /metrics, read from procrastinate's tables at scrape time.

Workers are separate processes (often separate containers), so counters kept in their
memory would never reach the web instances' /metrics. The job table is the shared truth:

* `jobs_run_last_hour{task}`, `jobs_failed_last_hour{task}`, `jobs_retried_last_hour{task}`:
  jobs started, failed for good, and put back for a retry in the last hour (from the job
  events; gauges over a sliding window, because finished jobs are deleted after
  JOBS_KEEP_FINISHED_DAYS and a counter must never go down);
* `jobs_failed{task}`: failed jobs still kept (what the admin lists; alert when it grows);
* `jobs_waiting{queue}` and `jobs_queue_lag_seconds{queue}`: jobs ready to run and how long
  the oldest of them has waited (0 when none): workers too few, or stuck.
* `jobs_running_too_long{task}`: jobs `doing` for longer than their timeout (JOBS_TIMEOUT_SECONDS,
  JOBS_TIMEOUTS): a hung worker, or a job that can neither finish nor go back to the queue; alert when
  above 0. `jobs_running_longest_seconds{task}`: how long the oldest running job of the task has run.
* `jobs_metrics_up`: 0 when the tables could not be read (database down): the rest is absent.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator

from django.db import connection
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from manas360.jobs import jobs_running

logger = logging.getLogger("manas360.jobs")

_EVENTS_LAST_HOUR = """
SELECT j.task_name, e.type::text, count(*)
  FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
 WHERE e.at > now() - interval '1 hour' AND e.type IN ('started', 'failed', 'deferred_for_retry')
 GROUP BY 1, 2
"""
_FAILED_KEPT = "SELECT task_name, count(*) FROM procrastinate_jobs WHERE status = 'failed' GROUP BY 1"
_WAITING = """
SELECT j.queue_name, count(*),
       extract(epoch FROM now() - min(coalesce(j.scheduled_at, d.at)))
  FROM procrastinate_jobs j
  LEFT JOIN LATERAL (
        SELECT max(e.at) AS at FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type IN ('deferred', 'deferred_for_retry', 'retried')
       ) d ON true
 WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
 GROUP BY 1
"""
_EVENT_METRICS = {
    "started": ("jobs_run_last_hour", "Jobs started in the last hour, by task."),
    "failed": ("jobs_failed_last_hour", "Jobs that failed for good in the last hour, by task."),
    "deferred_for_retry": ("jobs_retried_last_hour", "Job attempts that failed and were retried, last hour."),
}


class JobsCollector:
    def describe(self) -> list[Metric]:
        """Nothing to describe up front: without this, registering would query the database at import."""
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("jobs_metrics_up", "1 if the job tables could be read for this scrape.")
        try:
            with connection.cursor() as cursor:
                cursor.execute(_EVENTS_LAST_HOUR)
                events = cursor.fetchall()
                cursor.execute(_FAILED_KEPT)
                failed = cursor.fetchall()
                cursor.execute(_WAITING)
                waiting = cursor.fetchall()
            running = jobs_running(now=timezone.now())
        except Exception as exc:  # noqa: BLE001 - /metrics must render whatever happens to the job tables
            logger.warning("job metrics unavailable", extra={"error_class": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        families = {
            kind: GaugeMetricFamily(name, text, labels=["task"]) for kind, (name, text) in _EVENT_METRICS.items()
        }
        for task, kind, count in events:
            families[kind].add_metric([task], count)
        yield from families.values()
        failed_kept = GaugeMetricFamily("jobs_failed", "Failed jobs kept in the job table, by task.", labels=["task"])
        for task, count in failed:
            failed_kept.add_metric([task], count)
        yield failed_kept
        ready = GaugeMetricFamily("jobs_waiting", "Jobs ready to run, not started, by queue.", labels=["queue"])
        lag = GaugeMetricFamily(
            "jobs_queue_lag_seconds", "How long the oldest ready job of the queue has waited.", labels=["queue"]
        )
        for queue, count, seconds in waiting:
            ready.add_metric([queue], count)
            lag.add_metric([queue], max(float(seconds or 0), 0.0))
        yield ready
        yield lag
        too_long = GaugeMetricFamily(
            "jobs_running_too_long", "Jobs running for longer than their timeout, by task.", labels=["task"]
        )
        longest = GaugeMetricFamily(
            "jobs_running_longest_seconds", "How long the oldest running job of the task has run.", labels=["task"]
        )
        per_task = defaultdict(list)
        for job in running:
            per_task[job.task_name].append(job)
        for task, jobs in sorted(per_task.items()):
            too_long.add_metric([task], sum(job.too_long for job in jobs))
            longest.add_metric([task], max(max(job.seconds for job in jobs), 0.0))
        yield too_long
        yield longest
