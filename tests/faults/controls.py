"""Stop and start the test run's PostgreSQL and Redis (scripts/test.sh starts both and exports where they are)."""

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time

import pytest
import redis
from django.db import connections


def _require(*names: str) -> None:
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.fail(f"This test needs the servers started by scripts/test.sh (`make test`); unset: {missing}")


def wait_for_sleeping_requests(count: int, timeout: float = 20) -> None:
    """Wait until `count` server requests are inside their `pg_sleep` (so they are in flight, mid-transaction)."""
    deadline = time.monotonic() + timeout
    while True:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%%' AND pid <> pg_backend_pid()"
            )
            (sleeping,) = cursor.fetchone()
        if sleeping >= count:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"only {sleeping} of {count} requests reached the database in {timeout} s")
        time.sleep(0.05)


class PostgresControl:
    """pg_ctl stop/start of the throw-away cluster; its settings live in its data directory."""

    def __init__(self):
        _require("PG_BIN", "PG_DATA")
        self.stopped = False

    def _pg_ctl(self, *args: str) -> None:
        data_dir = os.environ["PG_DATA"]
        # -l: without a log file the server would inherit (and hold open) our output pipe.
        command = [f"{os.environ['PG_BIN']}/pg_ctl", "-D", data_dir, "-l", f"{data_dir}/../server.log", "-w", *args]
        if os.environ.get("PG_RUN_AS"):
            command = ["runuser", "-u", os.environ["PG_RUN_AS"], "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        connections.close_all()
        self._pg_ctl("-m", "fast", "stop")
        self.stopped = True

    def start(self) -> None:
        self._pg_ctl("start")
        self.stopped = False
        connections.close_all()


class RedisControl:
    """Kill the test run's Redis and start a new one on the same port (data is lost, as on a real restart)."""

    def __init__(self):
        _require("TEST_REDIS_PORT", "TEST_REDIS_PID", "TEST_REDIS_URL")
        self.port = int(os.environ["TEST_REDIS_PORT"])
        self.process: subprocess.Popen | None = None

    def _port_open(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        pid = int(os.environ["TEST_REDIS_PID"])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self._port_open():
            if time.monotonic() > deadline:
                pytest.fail(f"Redis (pid {pid}) still listens on {self.port} after SIGTERM")
            time.sleep(0.05)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        # The replacement serves the rest of the test run; it ends when pytest does.
        atexit.register(self.process.terminate)
        os.environ["TEST_REDIS_PID"] = str(self.process.pid)
        client = redis.Redis.from_url(os.environ["TEST_REDIS_URL"], socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


@pytest.fixture
def postgres_control():
    control = PostgresControl()
    try:
        yield control
    finally:
        if control.stopped:
            control.start()


@pytest.fixture
def redis_control():
    control = RedisControl()
    yield control
    if not control._port_open():
        control.start()
