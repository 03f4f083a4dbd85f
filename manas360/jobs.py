"""Plumbing of the job engine (procrastinate, docs/jobs.md) shared by every app's tasks.py.

How an app defines and defers work:

    from procrastinate.contrib.django import app
    from manas360.jobs import GATEWAY_RETRY, schedule

    @app.periodic(cron=schedule("payments.reconcile_pending_payments", "* * * * *"))
    @app.task(name="payments.reconcile_pending_payments", queue="payments", retry=GATEWAY_RETRY)
    def reconcile_pending_payments(timestamp: int) -> None: ...

    # in a service, inside the transaction that makes the decision:
    send_refund.defer(refund_id=str(refund.pk))

`defer()` writes the job row through Django's own connection, so it commits or rolls
back with the business rows around it: a crash can never keep one without the other.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
from django.conf import settings
from django.db.models import Max, Q
from procrastinate.contrib.django import app as django_app
from procrastinate.contrib.django.models import ProcrastinateJob

from manas360.request_context import reset_job, set_job

logger = logging.getLogger("manas360.jobs")

# Jobs that talk to PhonePe: a failure (gateway down, database blip) is retried after
# 2, 4, 8, 16... seconds (exponential back-off), JOBS_GATEWAY_RETRIES (8) times (about
# 8.5 minutes in all), then the job is `failed` and listed in the admin. The periodic
# sweeps pick the rows up again on their next tick anyway: the retries only shorten the wait.
GATEWAY_RETRY = procrastinate.RetryStrategy(max_attempts=settings.JOBS_GATEWAY_RETRIES, exponential_wait=2)
# (procrastinate's `max_attempts` counts retries: 8 means 9 runs at most.)
# Local database work: a few quick retries cover a database restart.
DATABASE_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)


def schedule(task_name: str, default_cron: str) -> str:
    """The cron of a periodic job: JOBS_SCHEDULES[task_name] if the operator set one."""
    schedules: dict[str, str] = settings.JOBS_SCHEDULES
    return schedules.get(task_name, default_cron)


def defer_once(task: Any, *, lock: str, **kwargs: Any) -> bool:
    """Defer `task` with `lock`, unless a job holding that lock is already waiting or running.

    This is how a sweep avoids piling up copies of one job, instead of procrastinate's `queueing_lock`:
    a job that fails (or whose worker died) goes back to `todo` for its retry, and the unique index behind
    `queueing_lock` refuses that move while a twin waits, so the job would stay `doing` for ever and its
    twin, waiting for the same `lock`, would never run. The check here is not atomic: two sweeps at once
    may both defer, which only means one extra run of an idempotent job, one after the other (the lock).
    """
    if ProcrastinateJob.objects.filter(lock=lock, status__in=["todo", "doing"]).exists():
        return False
    task.configure(lock=lock).defer(**kwargs)
    return True


def job_timeout(task_name: str) -> float:
    """How long a job of this task may stay `doing` before it is reported as stuck (JOBS_TIMEOUTS)."""
    return float(settings.JOBS_TIMEOUTS.get(task_name, settings.JOBS_TIMEOUT_SECONDS))


@dataclass(frozen=True)
class RunningJob:
    id: int
    task_name: str
    started_at: datetime
    seconds: float  # since its latest start

    @property
    def too_long(self) -> bool:
        return self.seconds > job_timeout(self.task_name)


def jobs_running(*, now: datetime) -> list[RunningJob]:
    """Jobs `doing`, with how long since their latest start (a retried job starts again)."""
    rows = (
        ProcrastinateJob.objects.filter(status="doing")
        .annotate(started_at=Max("procrastinateevent__at", filter=Q(procrastinateevent__type="started")))
        .values_list("id", "task_name", "started_at")
    )
    return [
        RunningJob(id=pk, task_name=task, started_at=started, seconds=(now - started).total_seconds())
        for pk, task, started in rows
        if started is not None
    ]


def jobs_running_too_long(*, now: datetime) -> list[RunningJob]:
    """Jobs `doing` for longer than their timeout: a hung worker, or a job that can neither finish nor retry."""
    return [job for job in jobs_running(now=now) if job.too_long]


def periodic_database_job(name: str, cron: str, *, queue: str = "maintenance") -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic job that only works the database (purges, expiries): it runs on `cron` (unless
    JOBS_SCHEDULES says otherwise), one run at a time (locked by its own name), retried on a database blip."""

    def declare(function: Callable[..., Any]) -> Any:
        task = django_app.task(name=name, queue=queue, lock=name, retry=DATABASE_RETRY)(function)
        return django_app.periodic(cron=schedule(name, cron))(task)

    return declare


async def job_context_middleware(
    call_next: Callable[[], Awaitable[Any]], context: procrastinate.JobContext, worker: object
) -> Any:
    """Worker middleware: every log line written while a job runs carries its id and task name.

    The context variable set here is copied into the thread that runs a sync task.
    """
    token = set_job((context.job.id, context.job.task_name))
    try:
        return await call_next()
    finally:
        reset_job(token)


def on_app_ready(app: procrastinate.App) -> None:
    """PROCRASTINATE_ON_APP_READY: called once the Django app of procrastinate is built."""
    middleware = list(app.worker_defaults.get("worker_middleware") or [])
    app.worker_defaults["worker_middleware"] = [job_context_middleware, *middleware]
