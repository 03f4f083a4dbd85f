"""Run a procrastinate worker that outlives database outages (`make worker`, the compose `worker` service).

procrastinate's own `manage.py procrastinate worker` stops when PostgreSQL goes away
(its heartbeat or job fetch raises). This command runs the same worker and, when it
stops on a database error, starts it again in the same process after a back-off
(1, 2, 4 ... 30 s) until the database answers: a PostgreSQL restart or fail-over needs
no restart of the worker processes. Jobs that were running when the database went
away are re-queued by `manas360.retry_stalled_jobs` (docs/jobs.md "Crashes").
SIGTERM/SIGINT stop it gracefully: running jobs get JOBS_SHUTDOWN_GRACE_SECONDS to end.
"""

import asyncio
import logging
import signal
import threading

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app

logger = logging.getLogger("manas360.jobs")

MAX_BACKOFF_SECONDS = 30.0


class Command(BaseCommand):
    help = "Run a background-job worker (procrastinate) on the given queues; restarts itself after database outages."

    def add_arguments(self, parser):
        parser.add_argument(
            "-q", "--queues", default="", help="Comma-separated queues to listen to (default: every queue)."
        )
        parser.add_argument("--name", default=None, help="Worker name shown in logs and in the admin.")
        parser.add_argument("--concurrency", type=int, default=None, help="Jobs run at the same time.")

    def handle(self, *args, queues: str, name: str | None, concurrency: int | None, **options):
        if not settings.JOBS_DATABASE_IS_POSTGRESQL:
            raise CommandError(
                "Background jobs need PostgreSQL: set DATABASE_URL=postgres://... (the SQLite default of "
                "`make run` has no job queue). See README, 'Background jobs'."
            )
        worker_options = {"install_signal_handlers": False}
        if queues:
            worker_options["queues"] = [queue.strip() for queue in queues.split(",") if queue.strip()]
        if name:
            worker_options["name"] = name
        if concurrency:
            worker_options["concurrency"] = concurrency

        stop = threading.Event()
        current = {"worker": None}

        def request_stop(signum, frame):
            logger.info("worker stop requested", extra={"signal": signal.Signals(signum).name})
            stop.set()
            if current["worker"] is not None:
                current["worker"].stop()

        self._request_stop = request_stop
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        backoff = 1.0
        with app.replace_connector(app.connector.get_worker_connector()):
            while not stop.is_set():
                try:
                    self._run_once(worker_options, current)
                except (procrastinate_exceptions.ConnectorException, psycopg.OperationalError, OSError) as exc:
                    if stop.is_set():
                        break
                    logger.warning(
                        "worker stopped on a database error; starting again",
                        extra={"error_class": type(exc).__name__, "retry_in_seconds": backoff},
                    )
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                if stop.is_set():
                    break
                # The worker ended by itself: procrastinate stops it when a side task (heartbeat,
                # listener) fails, which here means the database went away. Start again.
                logger.warning("worker loop ended; starting again", extra={"retry_in_seconds": backoff})
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        logger.info("worker stopped")

    def _run_once(self, worker_options: dict, current: dict) -> None:
        async def run():
            loop = asyncio.get_running_loop()
            async with app.open_async():
                app.perform_import_paths()
                worker = app._worker(**worker_options)
                current["worker"] = worker
                # Signals during the run are handled on the loop, so the worker wakes at once.
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, self._request_stop, signum, None)
                try:
                    await worker.run()
                finally:
                    for signum in (signal.SIGTERM, signal.SIGINT):
                        loop.remove_signal_handler(signum)
                    current["worker"] = None

        asyncio.run(run())
