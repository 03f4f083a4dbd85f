"""Settings of the job engine (procrastinate) and of the jobs themselves; star-imported by settings.py.

Every period is an environment variable so an operator can tune it without a release;
docs/jobs.md lists them. The engine's queue is a table in PostgreSQL, the one database of
every environment (`make run` included).
"""

import os
import tempfile
from pathlib import Path

import environ

env = environ.Env()

PROCRASTINATE_ON_APP_READY = "manas360.jobs.on_app_ready"
# Options of every worker (`manage.py jobs_worker`). A worker writes a heartbeat every
# JOBS_HEARTBEAT_SECONDS; one silent for JOBS_STALLED_AFTER_SECONDS is dead, and its
# running jobs are put back in the queue by the `manas360.retry_stalled_jobs` job.
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env.int("JOBS_WORKER_CONCURRENCY", default=4),
    "update_heartbeat_interval": env.float("JOBS_HEARTBEAT_SECONDS", default=10.0),
    "stalled_worker_timeout": env.float("JOBS_STALLED_AFTER_SECONDS", default=60.0),
    # LISTEN/NOTIFY wakes workers at once; polling is the fallback.
    "fetch_job_polling_interval": env.float("JOBS_POLL_SECONDS", default=5.0),
    "shutdown_graceful_timeout": env.float("JOBS_SHUTDOWN_GRACE_SECONDS", default=30.0),
}
JOBS_STALLED_AFTER_SECONDS = PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
# Touched by a running worker at every heartbeat; read by `manage.py jobs_worker --healthcheck`.
JOBS_WORKER_ALIVE_FILE = env.str(
    "JOBS_WORKER_ALIVE_FILE", default=str(Path(tempfile.gettempdir()) / f"manas360-worker-{os.getuid()}.alive")
)
# Cron schedule overrides, e.g. JOBS_SCHEDULES='{"rooms.close_abandoned_sessions": "*/5 * * * *"}'.
# A sixth field is seconds (tests run some jobs every second).
JOBS_SCHEDULES = env.json("JOBS_SCHEDULES", default={})
# Retries of a job that talks to PhonePe before it is `failed` (back-off 2, 4, 8 ... s).
JOBS_GATEWAY_RETRIES = env.int("JOBS_GATEWAY_RETRIES", default=8)
# Finished jobs (succeeded, failed, cancelled) are kept this long for the admin, then deleted.
JOBS_KEEP_FINISHED_DAYS = env.int("JOBS_KEEP_FINISHED_DAYS", default=14)
# A job `doing` for longer than its timeout is reported as stuck (/metrics `jobs_running_too_long`, the
# admin's "running too long" filter): a worker hung, or a job that can neither finish nor go back to the
# queue. JOBS_TIMEOUTS overrides it per task, e.g. '{"payments.reconciliation_audit": 7200}'.
JOBS_TIMEOUT_SECONDS = env.int("JOBS_TIMEOUT_SECONDS", default=600)
JOBS_TIMEOUTS = {"payments.reconciliation_audit": 3600, **env.json("JOBS_TIMEOUTS", default={})}
# Rows the jobs should have moved by now are reported this many minutes after their deadline (payments
# pending past their order's expiry, renewals past their step's deadline): the sweeps run every few minutes.
JOBS_OVERDUE_AFTER_MINUTES = env.int("JOBS_OVERDUE_AFTER_MINUTES", default=15)

# --- What the periodic jobs do ------------------------------------------------
# Pending payments: asked about after PAYMENT_RECONCILE_AFTER_SECONDS (settings.py), then again
# with a back-off: the wait doubles with the payment's age, capped at this many seconds.
PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS = env.int("PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS", default=600)
# Stored webhook events whose outcome is not final are processed again after this long.
WEBHOOK_REPROCESS_AFTER_SECONDS = env.int("WEBHOOK_REPROCESS_AFTER_SECONDS", default=120)
WEBHOOK_REPROCESS_GIVE_UP_AFTER_DAYS = env.int("WEBHOOK_REPROCESS_GIVE_UP_AFTER_DAYS", default=3)
# The audit with PhonePe (payments.reconciliation_audit): every order, redemption and refund created in the
# last RECONCILIATION_AUDIT_DAYS is compared with PhonePe's word; rows younger than
# RECONCILIATION_AUDIT_MIN_AGE_MINUTES are left to the normal paths (their callbacks may be on the way).
RECONCILIATION_AUDIT_DAYS = env.int("RECONCILIATION_AUDIT_DAYS", default=7)
RECONCILIATION_AUDIT_MIN_AGE_MINUTES = env.int("RECONCILIATION_AUDIT_MIN_AGE_MINUTES", default=30)
# The audit stops early (and says so) after this many rows in a row PhonePe could not answer for.
RECONCILIATION_AUDIT_MAX_GATEWAY_FAILURES = env.int("RECONCILIATION_AUDIT_MAX_GATEWAY_FAILURES", default=5)

# --- Retention (docs/jobs.md "Retention") --------------------------------------
RETENTION_OTP_CHALLENGE_DAYS = env.int("RETENTION_OTP_CHALLENGE_DAYS", default=7)
RETENTION_ENDED_SESSION_DAYS = env.int("RETENTION_ENDED_SESSION_DAYS", default=30)
RETENTION_EXPIRED_REFRESH_TOKEN_DAYS = env.int("RETENTION_EXPIRED_REFRESH_TOKEN_DAYS", default=7)
RETENTION_LOGIN_FAILURE_DAYS = env.int("RETENTION_LOGIN_FAILURE_DAYS", default=30)
RETENTION_WEBHOOK_PAYLOAD_DAYS = env.int("RETENTION_WEBHOOK_PAYLOAD_DAYS", default=90)
RETENTION_RECONCILIATION_AUDIT_DAYS = env.int("RETENTION_RECONCILIATION_AUDIT_DAYS", default=90)
