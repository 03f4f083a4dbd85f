"""Run jobs through the real engine in a test: defer with procrastinate, run a worker on the test database.

    from tests.jobs.engine import job_engine  # noqa: F401  (fixture)

    @pytest.mark.django_db(transaction=True)
    def test_x(job_engine):
        some_task.defer(...)
        job_engine.run()                      # a real procrastinate worker until the queue is empty
        assert job_engine.statuses("payments.x") == ["succeeded"]

The worker runs in this process (its sync tasks in worker threads with their own database
connections), so the test must be transactional: the worker only sees committed rows.
Worker processes (subprocesses) for crash and outage tests are in tests/jobs/workers.py.
"""

import pytest
from django.db import connection
from procrastinate.contrib.django import app

PROCRASTINATE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs")


def clear_job_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PROCRASTINATE_TABLES)}, procrastinate_workers CASCADE")


class JobEngine:
    def run(self, *, queues: list[str] | None = None) -> None:
        """Run a worker until no job is ready (jobs scheduled later, e.g. retries, are left)."""
        # Task threads close their Django connection after each job (no persistent connection
        # outliving the test, which would block the test database's teardown).
        max_age = connection.settings_dict["CONN_MAX_AGE"]
        connection.settings_dict["CONN_MAX_AGE"] = 0
        # Periodic jobs are deferred by the test itself, never by the clock in the middle of one.
        periodic, app.periodic_registry.periodic_tasks = app.periodic_registry.periodic_tasks, {}
        try:
            with app.replace_connector(app.connector.get_worker_connector()):
                app.run_worker(
                    queues=queues, wait=False, install_signal_handlers=False, listen_notify=False, concurrency=1
                )
        finally:
            connection.settings_dict["CONN_MAX_AGE"] = max_age
            app.periodic_registry.periodic_tasks = periodic

    def jobs(self, task_name: str | None = None) -> list[dict]:
        query = "SELECT id, task_name, status::text AS status, attempts, args, scheduled_at FROM procrastinate_jobs"
        params = []
        if task_name:
            query += " WHERE task_name = %s"
            params.append(task_name)
        with connection.cursor() as cursor:
            cursor.execute(query + " ORDER BY id", params)
            columns = [column[0] for column in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def statuses(self, task_name: str) -> list[str]:
        return [job["status"] for job in self.jobs(task_name)]


@pytest.fixture
def job_engine(transactional_db):
    clear_job_tables()
    yield JobEngine()
    clear_job_tables()
