"""Run a procrastinate worker that outlives database outages (`make worker`, the compose `worker` service).

procrastinate's own `manage.py procrastinate worker` stops when PostgreSQL goes away
(its heartbeat or job fetch raises). This command runs the same worker and, when it
stops on a database error, starts it again in the same process after a back-off
(1, 2, 4 ... 30 s) until the database answers: a PostgreSQL restart or fail-over needs
no restart of the worker processes. Jobs that were running when the database went
away are re-queued by `manas360.retry_stalled_jobs` (docs/jobs.md "Crashes").
SIGTERM/SIGINT stop it gracefully: running jobs get JOBS_SHUTDOWN_GRACE_SECONDS to end.

While the worker is registered, its event loop responsive and its heartbeat reaches the database,
it touches JOBS_WORKER_ALIVE_FILE every heartbeat; `manage.py jobs_worker --healthcheck` (the
container health check) fails when that file is older than three heartbeats: a wedged worker,
or one waiting for the database.
"""

import asyncio
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

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
        parser.add_argument(
            "--healthcheck", action="store_true", help="Exit 0 if the worker in this container is alive, else 1."
        )

    def handle(self, *args, queues: str, name: str | None, concurrency: int | None, healthcheck: bool, **options):
        if healthcheck:
            self._healthcheck()
            return
        worker_options: dict[str, Any] = {"install_signal_handlers": False}
        if queues:
            worker_options["queues"] = [queue.strip() for queue in queues.split(",") if queue.strip()]
        if name:
            worker_options["name"] = name
        if concurrency:
            worker_options["concurrency"] = concurrency

        stop = threading.Event()
        current: dict[str, Any] = {"worker": None}

        def request_stop(signum, frame):
            logger.info("worker stop requested", extra={"signal": signal.Signals(signum).name})
            stop.set()
            if current["worker"] is not None:
                current["worker"].stop()

        self._request_stop = request_stop
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        backoff = 1.0
        connector = app.connector
        assert isinstance(connector, DjangoConnector)  # the Django integration's
        with app.replace_connector(connector.get_worker_connector()):
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

    @staticmethod
    def _alive_interval() -> float:
        return float(settings.PROCRASTINATE_WORKER_DEFAULTS["update_heartbeat_interval"])

    async def _touch_alive_file(self, worker) -> None:
        """Touch the alive file after each heartbeat that reached the database within one interval."""
        path = Path(settings.JOBS_WORKER_ALIVE_FILE)
        interval = self._alive_interval()
        while True:
            await asyncio.sleep(interval)
            if worker.worker_id is None:
                continue
            try:
                await asyncio.wait_for(app.job_manager.update_heartbeat(worker.worker_id), timeout=interval)
            except Exception as exc:  # noqa: BLE001 - the database is away: simply not alive now
                logger.debug("worker heartbeat failed", extra={"error_class": type(exc).__name__})
                continue
            path.touch()

    def _healthcheck(self) -> None:
        path = Path(settings.JOBS_WORKER_ALIVE_FILE)
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            raise CommandError(f"no worker has started here ({path} missing)") from None
        if age > 3 * self._alive_interval():
            raise CommandError(f"worker not alive: last heartbeat {age:.0f} s ago")
        self.stdout.write(f"worker alive (heartbeat {age:.0f} s ago)")

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
                alive = asyncio.create_task(self._touch_alive_file(worker))
                try:
                    await worker.run()
                finally:
                    alive.cancel()
                    for signum in (signal.SIGTERM, signal.SIGINT):
                        loop.remove_signal_handler(signum)
                    current["worker"] = None

        asyncio.run(run())
