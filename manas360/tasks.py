"""Jobs that keep the job engine itself healthy (docs/jobs.md)."""

import logging

from django.conf import settings
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app
from procrastinate.jobs import Status
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

from manas360.jobs import schedule

logger = logging.getLogger("manas360.jobs")


@app.periodic(cron=schedule("manas360.retry_stalled_jobs", "* * * * *"))
@app.task(name="manas360.retry_stalled_jobs", queue="maintenance")  # no lock: see the docstring
async def retry_stalled_jobs(timestamp: int) -> int:
    """Put back in the queue the jobs of workers that died (SIGKILL, OOM, lost node).

    A worker that has not written its heartbeat for JOBS_STALLED_AFTER_SECONDS is dead; the
    jobs it was running are `doing` for ever otherwise. Every job is idempotent, so running
    one again after a crash finishes what was half done and repeats nothing.

    Each job is handled on its own: one that cannot be put back is logged and counted, and the
    others are still re-queued (the next run tries it again). A job that cannot go back because
    another job with its `queueing_lock` is waiting (jobs queued before that option was dropped)
    is marked failed instead: the waiting twin does its work, and until then it waited for this
    job's `lock`. Returns how many jobs were re-queued.

    It takes no lock: a copy of it killed mid-run would hold the lock for ever, since only
    this job frees stalled jobs. Two copies at once are harmless (the second finds the job
    already moved, and counts a failure).
    """
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOBS_STALLED_AFTER_SECONDS))
    requeued = failed = 0
    for job in stalled:
        extra = {"stalled_job_id": job.id, "stalled_task": job.task_name}
        try:
            await manager.retry_job(job)
        except procrastinate_exceptions.UniqueViolation as exc:
            if exc.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                failed += 1
                logger.exception("stalled job could not be re-queued", extra=extra)
                continue
            try:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            except Exception:
                failed += 1
                logger.exception("stalled job could not be re-queued", extra=extra)
            else:
                logger.warning("stalled job failed: its queueing-lock twin is waiting", extra=extra)
            continue
        except Exception:
            # Logged with its traceback and counted; the loop goes on with the next job.
            failed += 1
            logger.exception("stalled job could not be re-queued", extra=extra)
            continue
        requeued += 1
        logger.warning("stalled job re-queued", extra=extra)
    if failed:
        logger.error("stalled jobs left in place", extra={"failed": failed, "requeued": requeued})
    return requeued


@app.periodic(cron=schedule("manas360.remove_old_jobs", "17 3 * * *"))
@app.task(name="manas360.remove_old_jobs", queue="maintenance", lock="manas360.remove_old_jobs")
async def remove_old_jobs(timestamp: int) -> None:
    """The job table keeps finished jobs JOBS_KEEP_FINISHED_DAYS for the admin, then forgets them."""
    await app.job_manager.delete_old_jobs(
        nb_hours=settings.JOBS_KEEP_FINISHED_DAYS * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
