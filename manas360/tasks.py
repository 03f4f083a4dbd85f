"""Jobs that keep the job engine itself healthy (docs/jobs.md)."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from manas360.jobs import schedule

logger = logging.getLogger("manas360.jobs")


@app.periodic(cron=schedule("manas360.retry_stalled_jobs", "* * * * *"))
@app.task(name="manas360.retry_stalled_jobs", queue="maintenance")  # no lock: see the docstring
async def retry_stalled_jobs(timestamp: int) -> int:
    """Put back in the queue the jobs of workers that died (SIGKILL, OOM, lost node).

    A worker that has not written its heartbeat for JOBS_STALLED_AFTER_SECONDS is dead; the
    jobs it was running are `doing` for ever otherwise. Every job is idempotent, so running
    one again after a crash finishes what was half done and repeats nothing.

    It takes no lock: a copy of it killed mid-run would hold the lock for ever, since only
    this job frees stalled jobs. Two copies at once are harmless.
    """
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOBS_STALLED_AFTER_SECONDS))
    for job in stalled:
        logger.warning("stalled job re-queued", extra={"stalled_job_id": job.id, "stalled_task": job.task_name})
        await app.job_manager.retry_job(job)
    return len(stalled)


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
