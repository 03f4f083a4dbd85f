"""Real worker processes (`manage.py jobs_worker`) for tests of crashes, outages and scaling.

    def test_x(job_workers):
        first, second = job_workers.start(2, env={"JOBS_SCHEDULES": '{"x": "* * * * * *"}'})
        first.kill()                       # SIGKILL, as the kernel's OOM killer would

Each worker runs against the pytest-django test database (committed rows only: use a
transactional test) with fast heartbeats, so a dead worker is detected in ~2 s. Output
goes to a log file shown when a test fails on it. Teardown stops them all (SIGTERM, then
SIGKILL of the process group).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests.servers import ROOT, server_base_env

# Fast enough for tests, same mechanism as production (docs/jobs.md "Crashes").
FAST_ENGINE = {
    "JOBS_HEARTBEAT_SECONDS": "0.5",
    "JOBS_STALLED_AFTER_SECONDS": "2",
    "JOBS_POLL_SECONDS": "0.2",
    "JOBS_SHUTDOWN_GRACE_SECONDS": "5",
}


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen
    log_path: Path
    env: dict

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up code of ours or procrastinate's runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def healthcheck(self) -> int:
        """Exit code of the container health check (`manage.py jobs_worker --healthcheck`) for this worker."""
        return subprocess.run(
            [sys.executable, "manage.py", "jobs_worker", "--healthcheck"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=60,
        ).returncode

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class WorkerFactory:
    def __init__(self, log_dir: Path, base_env: dict[str, str]):
        self.log_dir = log_dir
        self.base_env = base_env
        self.workers: list[WorkerProcess] = []

    def start(self, count: int = 1, *, env: dict[str, str] | None = None, schedules: dict | None = None):
        started = []
        for _ in range(count):
            name = f"worker{len(self.workers) + 1}"
            worker_env = {**self.base_env, **FAST_ENGINE, **(env or {})}
            worker_env["JOBS_SCHEDULES"] = json.dumps(schedules or {})
            worker_env["JOBS_WORKER_ALIVE_FILE"] = str(self.log_dir / f"{name}.alive")
            log_path = self.log_dir / f"{name}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "manage.py", "jobs_worker", "--name", name],
                    cwd=ROOT,
                    env=worker_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            worker = WorkerProcess(name=name, process=process, log_path=log_path, env=worker_env)
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            self.wait_registered(worker)
        return started

    def wait_registered(self, worker: WorkerProcess, timeout: float = 30) -> None:
        """Until the worker has a row in procrastinate_workers (it is fetching jobs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.is_running():
                pytest.fail(f"{worker.name} exited with {worker.process.returncode}:\n{worker.log_tail()}")
            if "Starting worker on" in worker.log_tail(400):
                return
            time.sleep(0.1)
        pytest.fail(f"{worker.name} did not start within {timeout} s:\n{worker.log_tail()}")

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.is_running():
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop()


def wait_for(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition", workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = "\n".join(f"--- {w.name}\n{w.log_tail()}" for w in workers)
    pytest.fail(f"{message} not reached within {timeout} s\n{logs}")


def job_rows(task_name: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, status::text, attempts, args FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [task_name],
        )
        rows = cursor.fetchall()
    # Django reads jsonb as text (it decodes JSON itself in model fields).
    return [
        {"id": r[0], "status": r[1], "attempts": r[2], "args": json.loads(r[3]) if isinstance(r[3], str) else r[3]}
        for r in rows
    ]


@pytest.fixture
def job_workers(job_engine, tmp_path):
    """A WorkerFactory; the job tables are emptied before and after (job_engine)."""
    factory = WorkerFactory(tmp_path, server_base_env())
    try:
        yield factory
    finally:
        factory.stop_all()
