"""Real servers of this project, for tests that need more than Django's test client.

Multi-instance, fault and end-to-end tests start one or more copies of the
service exactly as production runs it (`python -m manas360.server`: granian),
on free loopback ports, against the pytest-django test database and, when the test run
has one, the throw-away Redis (TEST_REDIS_URL).

Use the `web_servers` fixture from a test marked
`@pytest.mark.django_db(transaction=True)` (the servers run in other processes,
so they only see committed rows, and the transactional test flushes them after):

    from tests.servers import web_servers  # noqa: F401  (in a conftest.py)

    def test_something(web_servers):
        a, b = web_servers.start(2, env={"SOME_SETTING": "1"})
        assert a.get("/health").status_code == 200

Each server's output goes to a log file; a server that does not become healthy
fails the test with the end of its log. Teardown sends SIGTERM and waits.

The servers run with DEBUG off and inherit the test run's environment, TESTING=1
included (`make test` sets it): development defaults for the production-only
secrets, the capturing OTP channel and the PhonePe simulator hosts stay allowed.
Tokens issued by the test (accounts.sessions, accounts.tokens) verify on them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SERVER_COMMAND = [sys.executable, "-m", "manas360.server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database in tests)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def test_database_url() -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("Server tests need PostgreSQL: run them with `make test` (DATABASE_URL unset here).")
    return database_url(connection.settings_dict)


test_database_url.__test__ = False  # a helper, not a test


@dataclass
class Server:
    """One running server instance (granian's main process and its workers)."""

    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)
    terminated: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The live workers: children forked from the main process (the same command line).

        A worker that has exited but not yet been reaped (a zombie) is not one.
        """
        try:
            main = psutil.Process(self.pid)
            command, children = main.cmdline(), main.children()
        except psutil.Error:
            return []
        workers = []
        for child in children:
            with contextlib.suppress(psutil.Error):  # exited meanwhile, or a zombie
                if child.status() != psutil.STATUS_ZOMBIE and child.cmdline() == command:
                    workers.append(child.pid)
        return sorted(workers)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def is_running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        self.terminated = self.terminated or signum == signal.SIGTERM
        self.process.send_signal(signum)

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM (graceful), then SIGKILL of the whole process group if it does not exit in time."""
        self.session.close()  # do not leave idle keep-alive connections behind
        if self.process.poll() is None:
            if not self.terminated:
                self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode

    def wait_until_healthy(self, path: str = "/health", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url(path), timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer 200 on {path} within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class ServerFactory:
    """Starts servers for one test and stops every one of them at teardown."""

    def __init__(self, log_dir: Path, base_env: dict[str, str]):
        self.log_dir = log_dir
        self.base_env = base_env
        self.servers: list[Server] = []

    def start(
        self,
        count: int = 1,
        *,
        env: dict[str, str] | None = None,
        workers: int = 1,
        threads: int = 2,
        settings_module: str | None = None,
        ready_path: str = "/health",
    ) -> list[Server]:
        """Start `count` instances (in parallel) and wait until each answers 200 on `ready_path`."""
        started = []
        for _ in range(count):
            name = f"server{len(self.servers) + 1}"
            port = free_port()
            server_env = {
                **self.base_env,
                "WEB_BIND": f"127.0.0.1:{port}",
                "PORT": str(port),
                "WEB_WORKERS": str(workers),
                "WEB_THREADS": str(threads),
                **(env or {}),
            }
            if settings_module:
                server_env["DJANGO_SETTINGS_MODULE"] = settings_module
            log_path = self.log_dir / f"{name}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    SERVER_COMMAND,
                    cwd=ROOT,
                    env=server_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: a signal to pytest does not reach it
                )
            server = Server(name=name, port=port, process=process, log_path=log_path)
            self.servers.append(server)
            started.append(server)
        for server in started:
            server.wait_until_healthy(ready_path)
        return started

    def stop_all(self) -> None:
        for server in self.servers:  # all at once: each takes a moment to drain
            server.session.close()
            if server.is_running():
                server.signal(signal.SIGTERM)
        for server in self.servers:
            server.stop()


def server_base_env() -> dict[str, str]:
    """Production-like settings (DEBUG off) pointing at the test database and the test Redis."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PROMETHEUS_"))}
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            # Tokens the test issues with its own settings must verify on the servers.
            "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "60",
            "PYTHONUNBUFFERED": "1",
            "WEB_LOG_LEVEL": "info",
        }
    )
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


@pytest.fixture
def web_servers(transactional_db, tmp_path):
    """A ServerFactory: `web_servers.start(2)` -> two running instances on one database."""
    factory = ServerFactory(tmp_path, server_base_env())
    try:
        yield factory
    finally:
        factory.stop_all()
