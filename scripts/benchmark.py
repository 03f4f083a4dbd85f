# ruff: noqa: S603, T201 - a command-line tool: runs the programs it names and prints its report
"""Throughput and latency of the service against the framework floor, in one run (docs/performance.md).

    make benchmark                    # scripts/benchmark_env.sh .venv/bin/python scripts/benchmark.py
    make benchmark ARGS="--only health,me --rounds 1 --duration 5"

On one PostgreSQL server (DATABASE_URL) the script
1. creates the floor's database (a `rooms` table with 20 rows) next to ours,
2. migrates and seeds ours and signs a user in (a real session, a real access token),
3. starts our service as production does (`python -m manas360.server`, production settings), and the floor
   (scripts/bench/floorapp.py: bare Django + DRF) with one worker and one application thread: the floor is a
   fixed yardstick of what this machine does right now, whatever our server settings are. By default it is
   served as it was when the targets were set, by one sync gunicorn worker (installed into var/bench-tools
   for this script only); `--floor-server granian` serves it with our own server instead,
4. pins both servers, PostgreSQL and Redis to one core and wrk to another (when the machine has two),
5. measures each pair with wrk, alternating ours and the floor, `--rounds` times, and reports the median
   requests/s, p50 and p95 of each side and the ratio ours/floor against its target.

Rate limits stay on (their Redis round trip is part of the real cost) with limits high enough not to trigger.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
FLOOR_DIR = ROOT / "scripts" / "bench"
FLOOR_DB = "floor"
# gunicorn serves only the floor, from its own directory: the service's environment has one server (granian).
BENCH_TOOLS = ROOT / "var" / "bench-tools"
# name: (label, our path, floor path, signed in, target ratio ours/floor: docs/performance.md)
PAIRS = {
    "health": ("GET /health vs /hello", "/health", "/hello", False, 1.0),
    "me": ("GET /api/v1/users/me (Bearer) vs /drf", "/api/v1/users/me", "/drf", True, 0.38),
    "themes": (
        "GET /api/v1/themed-rooms/themes (anonymous) vs /rows",
        "/api/v1/themed-rooms/themes",
        "/rows",
        False,
        1.6,
    ),
    "themes_user": (
        "GET /api/v1/themed-rooms/themes (Bearer) vs /rows",
        "/api/v1/themed-rooms/themes",
        "/rows",
        True,
        1.0,
    ),
}

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.6f, "errors": %d, "non2xx": %d, '
      .. '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\\n',
      summary.requests, summary.duration / 1e6, errors, summary.errors.status,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_params(database_url: str) -> dict:
    parts = urlsplit(database_url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "dbname": parts.path.lstrip("/"),
    }


def setup_floor_database(params: dict) -> None:
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [FLOOR_DB]).fetchone()
        if not exists:
            conn.execute(f'create database "{FLOOR_DB}"')
    with psycopg.connect(**{**params, "dbname": FLOOR_DB}, autocommit=True) as conn:
        conn.execute("drop table if exists rooms")
        conn.execute("create table rooms (id serial primary key, name text, category text, description text)")
        for number in range(1, 21):
            conn.execute(
                "insert into rooms (name, category, description) values (%s, %s, %s)",
                [f"Room {number}", ["calm", "focus", "sleep", "nature"][number % 4], f"A themed room number {number}."],
            )


def service_env(args) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("TESTING", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PHONEPE_CLIENT_ID": "bench",
            "PHONEPE_CLIENT_SECRET": "bench",
            "PHONEPE_CLIENT_VERSION": "1",
            "PHONEPE_WEBHOOK_USERNAME": "bench",
            "PHONEPE_WEBHOOK_PASSWORD": "bench",
            "PHONEPE_REDIRECT_URL": "http://127.0.0.1/payment/callback",
            "RATE_LIMIT_ANON": "100000000/m",
            "RATE_LIMIT_USER": "100000000/m",
            "WEB_LOG_LEVEL": "warning",
            # Production settings refuse to start without these (docs/deployment.md): a fresh key per run.
            "MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            # The benchmark sends no sign-in code; these only satisfy the start-up check (docs/auth.md "Delivery").
            "OTP_PHONE_CHANNELS": "sms",
            "OTP_MSG91_AUTH_KEY": "bench",
            "OTP_MSG91_TEMPLATE_ID": "bench",
            "EMAIL_HOST": "127.0.0.1",
            "DEFAULT_FROM_EMAIL": "bench@localhost",
        }
    )
    # The JSON access log (one line per request, INFO) is part of the production cost and stays on by default.
    if args.no_access_log:
        env["LOG_LEVEL"] = "WARNING"
    if args.workers:
        env["WEB_WORKERS"] = str(args.workers)
    if args.threads:
        env["WEB_THREADS"] = str(args.threads)
    return env


def manage(env: dict, *command: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


SIGN_IN = """
from accounts.models import User
from django.utils import timezone
from accounts.sessions import session_start
user, _ = User.objects.get_or_create(email="bench@manas360.local", defaults={"phone_number": "+919800000001"})
print(session_start(user=user, now=timezone.now()).access_token)
"""


def server_settings(env: dict, prefix: list[str]) -> tuple[int, int]:
    """manas360.server's workers and threads as it computes them on the cores the server will run on."""
    probe = (
        "import json, os; from manas360.server import ServerConfig; c = ServerConfig.from_environ(os.environ); "
        "print(json.dumps([c.workers, c.threads]))"
    )
    out = subprocess.run(
        [*prefix, sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    workers, threads = json.loads(out.stdout.strip().splitlines()[-1])
    return workers, threads


def start(command: list[str], *, env: dict, cwd: Path, log: Path, ready: str) -> subprocess.Popen:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command} exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(ready, timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{command} did not become ready:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, *, args, headers: list[str], script: Path, duration: int) -> dict:
    command = [*args.load_prefix, "wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{duration}s"]
    command += ["--timeout", "5s", "-s", str(script)]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def check_answer(url: str, headers: list[str]) -> None:
    answer = requests.get(url, headers=dict(h.split(": ", 1) for h in headers), timeout=10)
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:500]}")


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def pin(pid: int, cores: set[int]) -> None:
    """Pin a process, its threads and its children (PostgreSQL's backends, forked later, inherit it)."""
    for target in [pid, *_children(pid)]:
        for task in Path(f"/proc/{target}/task").glob("*"):
            with contextlib.suppress(ProcessLookupError, PermissionError):  # a backend that just exited
                os.sched_setaffinity(int(task.name), cores)


def placement(args) -> tuple[set[int] | None, set[int] | None]:
    """(server cores, load-generator cores): the first core for servers and databases, the next for wrk."""
    available = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(available) < 2:
        return None, None
    return {available[0]}, {available[1]}


def pin_databases(server_cores: set[int]) -> None:
    pg_data = os.environ.get("PG_DATA")
    pid_file = Path(pg_data) / "postmaster.pid" if pg_data else None
    if pid_file and pid_file.is_file():
        pin(int(pid_file.read_text().split()[0]), server_cores)
    if os.environ.get("REDIS_PID", "").isdigit():
        pin(int(os.environ["REDIS_PID"]), server_cores)


def measure_pair(args, name: str, ours_port: int, floor_port: int, token: str, script: Path) -> dict:
    label, our_path, floor_path, authenticated, target = PAIRS[name]
    headers = [f"Authorization: Bearer {token}"] if authenticated else []
    our_url, floor_url = f"http://127.0.0.1:{ours_port}{our_path}", f"http://127.0.0.1:{floor_port}{floor_path}"
    check_answer(our_url, headers)
    check_answer(floor_url, [])
    sides = (("ours", our_url, headers), ("floor", floor_url, []))
    for _, url, hdrs in sides:
        wrk(url, args=args, headers=hdrs, script=script, duration=args.warmup)
    runs: dict[str, list] = {"ours": [], "floor": []}
    for _ in range(args.rounds):
        for side, url, hdrs in sides:
            runs[side].append(wrk(url, args=args, headers=hdrs, script=script, duration=args.duration))
    summary = {"pair": label, "name": name, "ours_path": our_path, "floor_path": floor_path, "target": target}
    for side, side_runs in runs.items():
        summary[side] = {
            "rps": round(statistics.median(r["rps"] for r in side_runs), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in side_runs), 2),
            "p95_ms": round(statistics.median(r["p95_ms"] for r in side_runs), 2),
            "errors": sum(r["errors"] for r in side_runs),
            "runs_rps": [round(r["rps"], 1) for r in side_runs],
        }
    summary["ratio"] = round(summary["ours"]["rps"] / summary["floor"]["rps"], 3)
    return summary


def floor_ceilings(results: list[dict]) -> dict[str, float]:
    """The floor's own endpoints divided by its `/rows`, from the medians of this run.

    `/drf` is a DRF view that reads nothing and checks nothing (no middleware, no authentication, no rate limit,
    no database); `/hello` is the same without DRF. No endpoint of ours can beat the one that does a subset of
    its work, so these bound what the `/rows` ratios can reach (docs/performance.md).
    """
    floor = {r["floor_path"]: r["floor"]["rps"] for r in results}
    if "/rows" not in floor:
        return {}
    return {
        f"floor {path} / floor /rows": round(floor[path] / floor["/rows"], 2)
        for path in ("/hello", "/drf")
        if path in floor
    }


def floor_server_command(args, port: int) -> list[str]:
    """The floor under gunicorn (one sync worker: the targets' yardstick) or under our own server, granian."""
    if args.floor_server == "gunicorn":
        if not (BENCH_TOOLS / "gunicorn").is_dir():
            pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(BENCH_TOOLS)]
            subprocess.run([*pip, "-r", str(FLOOR_DIR / "requirements.txt")], check=True)
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(FLOOR_DIR),
            "--workers",
            str(args.floor_workers),
            "--threads",
            str(args.floor_threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "floorapp:application",
        ]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--working-dir",
        str(FLOOR_DIR),
        "--workers",
        str(args.floor_workers),
        "--blocking-threads",
        str(args.floor_threads),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "floorapp:application",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=12, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server and endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements per side and pair")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, help="WEB_WORKERS for ours (default: manas360.server's)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS for ours (default: manas360.server's)")
    parser.add_argument("--floor-workers", type=int, default=1, help="worker processes of the floor")
    parser.add_argument("--floor-threads", type=int, default=1, help="application threads per floor worker")
    parser.add_argument(
        "--floor-server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="the floor's server: one sync gunicorn worker as when the targets were set (default), or granian",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to separate cores")
    parser.add_argument("--no-access-log", action="store_true", help="LOG_LEVEL=WARNING: measure without it")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    parser.add_argument("--only", default=",".join(PAIRS), help=f"comma-separated pairs: {','.join(PAIRS)}")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL (run through scripts/benchmark_env.sh).")
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in PAIRS]
    if unknown:
        raise SystemExit(f"Unknown pairs {unknown}; choose from {list(PAIRS)}.")
    params = pg_params(database_url)
    work = Path(tempfile.mkdtemp(prefix="manas360-benchmark-"))

    server_cores, load_cores = placement(args)
    server_prefix = ["taskset", "-c", ",".join(map(str, sorted(server_cores)))] if server_cores else []
    args.load_prefix = ["taskset", "-c", ",".join(map(str, sorted(load_cores)))] if load_cores else []
    if server_cores:
        pin_databases(server_cores)

    env = service_env(args)
    workers, threads = server_settings(env, server_prefix)
    env["WEB_WORKERS"], env["WEB_THREADS"] = str(workers), str(threads)
    setup_floor_database(params)
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "seed")
    token = manage(env, "shell", "-c", SIGN_IN).strip().splitlines()[-1]

    ours_port, floor_port = free_port(), free_port()
    ours_env = {**env, "WEB_BIND": f"127.0.0.1:{ours_port}"}
    floor_env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "FLOOR_DB": FLOOR_DB,
        "PGHOST": params["host"],
        "PGPORT": params["port"],
        "PGUSER": params["user"],
        "PGPASSWORD": params["password"],
    }
    ours = start(
        [*server_prefix, sys.executable, "-m", "manas360.server"],
        env=ours_env,
        cwd=ROOT,
        log=work / "ours.log",
        ready=f"http://127.0.0.1:{ours_port}/health",
    )
    floor_command = [*server_prefix, *floor_server_command(args, floor_port)]
    if args.floor_server == "gunicorn":
        floor_env["PYTHONPATH"] = str(BENCH_TOOLS)
    try:
        floor = start(
            floor_command,
            env=floor_env,
            cwd=FLOOR_DIR,
            log=work / "floor.log",
            ready=f"http://127.0.0.1:{floor_port}/hello",
        )
    except SystemExit:
        stop(ours)
        raise
    if server_cores:
        pin_databases(server_cores)  # backends forked before the pinning above (migrate, seed) have exited
    script = work / "report.lua"
    script.write_text(WRK_REPORT)
    results = []
    try:
        for name in names:
            summary = measure_pair(args, name, ours_port, floor_port, token, script)
            results.append(summary)
            print(json.dumps(summary), flush=True)
    finally:
        stop(ours)
        stop(floor)

    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": len(os.sched_getaffinity(0)),
        "pinned": {"servers": sorted(server_cores or []), "wrk": sorted(load_cores or [])},
        "load_average_after": os.getloadavg(),
        "server": "granian",
        "ours": {"workers": workers, "threads": threads},
        "floor": {"server": args.floor_server, "workers": args.floor_workers, "threads": args.floor_threads},
        "wrk": {
            "connections": args.connections,
            "threads": args.wrk_threads,
            "duration_s": args.duration,
            "rounds": args.rounds,
        },
        "results": results,
    }
    print()
    pinned = f"servers on core {sorted(server_cores)}, wrk on {sorted(load_cores)}" if server_cores else "not pinned"
    print(
        f"ours: granian, {workers} workers x {threads} threads; floor: {args.floor_server}, "
        f"{args.floor_workers} x {args.floor_threads}; "
        f"{pinned}; wrk -c{args.connections} -t{args.wrk_threads}, {args.rounds} x {args.duration} s per side, "
        f"medians; load average now {os.getloadavg()[0]:.1f}"
    )
    print("| pair | ours req/s | floor req/s | ratio | target | ours p50 / p95 ms | floor p50 / p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        mark = "met" if r["ratio"] >= r["target"] else "MISSED"
        ours_side, floor_side = r["ours"], r["floor"]
        print(
            f"| {r['pair']} | {ours_side['rps']:.0f} | {floor_side['rps']:.0f} | **{r['ratio']:.2f}** | "
            f"{r['target']:.2f} {mark} | {ours_side['p50_ms']:.1f} / {ours_side['p95_ms']:.1f} | "
            f"{floor_side['p50_ms']:.1f} / {floor_side['p95_ms']:.1f} |"
        )
    ceilings = floor_ceilings(results)
    if ceilings:
        report["floor_ceilings"] = ceilings
        print()
        print("What the floor itself scores against its /rows in this run (a ratio no endpoint doing more can pass):")
        for label, ratio in ceilings.items():
            print(f"- {label}: {ratio:.2f}")
    if args.output:
        args.output.write_text(json.dumps(report, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    if any(r["ours"]["errors"] or r["floor"]["errors"] for r in results):
        raise SystemExit("Some requests failed (see errors above).")


if __name__ == "__main__":
    main()
