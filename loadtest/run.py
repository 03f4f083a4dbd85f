# ruff: noqa: S603, T201 - a command-line tool: runs the programs it names and prints its report
"""`make loadtest`: the mixed patient journey at a fixed rate against the production server, with pass/fail.

    scripts/benchmark_env.sh .venv/bin/python loadtest/run.py [--rps 100] [--duration 60]

Starts, on loopback: the OTP provider fakes (the production OTP channel sends the codes to them by
WhatsApp), the PhonePe simulator (`manage.py phonepe_simulator`, as PhonePe's sandbox hosts), and the
service as production runs it (`python -m manas360.server`, granian) with production settings (DEBUG off,
Redis, default worker count). Then runs loadtest/locustfile.py headless at `--rps` requests per second for
`--duration` seconds while sampling PostgreSQL connections (pg_stat_activity) and the resident memory of the
server's main process and workers.

Passes when: p95 < 500 ms, error rate < 0.5 %, no request refused for want of a database connection and
connections never above workers x threads, worker memory grows by less than 20 % between the first and the
last sample. Results: printed, and written to var/loadtest/<time>.json.
"""

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the OTP provider fakes (plain Python, no Django needed) come from the project

from accounts.otp_providers.fakes import OtpFakes, start_otp_fakes  # noqa: E402

OUT_DIR = ROOT / "var" / "loadtest"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(database_url: str, redis_url: str, simulator_url: str, otp_fakes: OtpFakes) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("TESTING", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "loadtest-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # Production settings refuse to start without these (docs/deployment.md): a fresh key per run.
            "MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            "TRUSTED_PROXY_COUNT": "1",  # the load generator plays the load balancer: one address per patient
            "PHONEPE_ENV": "SANDBOX",
            "PHONEPE_PG_BASE_URL": f"{simulator_url}/apis/pg-sandbox",
            "PHONEPE_OAUTH_BASE_URL": f"{simulator_url}/apis/pg-sandbox",
            "PHONEPE_CLIENT_ID": "LOADTEST_CLIENT",
            "PHONEPE_CLIENT_SECRET": "loadtest-client-secret",
            "PHONEPE_CLIENT_VERSION": "1",
            "PHONEPE_WEBHOOK_USERNAME": "loadtest",
            "PHONEPE_WEBHOOK_PASSWORD": "loadtest-webhook-password",
            "PHONEPE_REDIRECT_URL": "http://127.0.0.1/payment/callback",
        }
    )
    env.update(otp_fakes.environment())  # the production OTP channel, delivering to the providers' fakes
    return env


def wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"exited early:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} not ready:\n{log.read_text()[-3000:]}")


def server_rss(master_pid: int) -> dict[str, int]:
    master = psutil.Process(master_pid)
    workers = master.children()
    return {"master": master.memory_info().rss, "workers": sum(w.memory_info().rss for w in workers), "n": len(workers)}


def server_latency(metrics_url: str, token: str) -> dict[str, float]:
    """p50 / p95 over every API request from the http_request_duration_seconds histogram (bucket upper bounds)."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[float, float] = {}
    response = requests.get(metrics_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    text = response.text
    for family in text_string_to_metric_families(text):
        if family.name != "http_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels["route"].startswith("api/"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0) + sample.value
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0

    def quantile(q):
        for bound in bounds:
            if buckets[bound] >= q * total:
                return bound * 1000
        return float("inf")

    return {"p50_ms": quantile(0.5), "p95_ms": quantile(0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rps", type=float, default=100)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        raise SystemExit("Needs DATABASE_URL (PostgreSQL) and REDIS_URL: run through scripts/benchmark_env.sh.")
    work = OUT_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work.mkdir(parents=True, exist_ok=True)

    otp_fakes = start_otp_fakes(echo=False)
    api_port, simulator_port = free_port(), free_port()
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    env = service_env(database_url, redis_url, simulator_url, otp_fakes)
    env["WEB_BIND"] = f"127.0.0.1:{api_port}"

    for command in (["migrate", "--no-input", "-v0"], ["seed"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)

    processes: list[subprocess.Popen] = []

    def start(command, log_name, ready_url):
        log = work / log_name
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        wait_ready(ready_url, process, log)
        return process

    try:
        start(
            [
                sys.executable,
                "manage.py",
                "phonepe_simulator",
                "--port",
                str(simulator_port),
                "--callback-url",
                f"http://127.0.0.1:{api_port}/api/v1/payments/webhook",
            ],
            "simulator.log",
            f"{simulator_url}/simulator/webhooks",
        )
        server = start(
            [sys.executable, "-m", "manas360.server"],
            "server.log",
            f"http://127.0.0.1:{api_port}/health",
        )
        conf = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; from manas360.server import ServerConfig; c = ServerConfig.from_environ(os.environ); "
                "print(c.workers, c.threads)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        workers, threads = int(conf[-2]), int(conf[-1])
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    parts = urlsplit(database_url)
    db_name = parts.path.lstrip("/")
    pg = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": parts.username,
        "password": parts.password or "",
        "dbname": db_name,
    }
    samples = {"connections": [], "rss": []}
    stop_sampling = threading.Event()

    def sample():
        with psycopg.connect(**pg, autocommit=True) as conn:
            while not stop_sampling.is_set():
                (count,) = conn.execute(
                    "select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", [db_name]
                ).fetchone()
                samples["connections"].append(count)
                samples["rss"].append(server_rss(server.pid))
                stop_sampling.wait(1)

    sampler = threading.Thread(target=sample, daemon=True)
    user_rps = args.rps / args.users
    locust_env = {**os.environ, "LOADTEST_SMS_URL": otp_fakes.url, "LOADTEST_USER_RPS": str(user_rps)}
    csv_prefix = work / "locust"
    locust = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(max(args.users // 5, 1)),
        "--run-time",
        f"{args.duration}s",
        "--host",
        f"http://127.0.0.1:{api_port}",
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    rss_before = server_rss(server.pid)
    sampler.start()
    started = time.monotonic()
    try:
        result = subprocess.run(locust, cwd=ROOT, env=locust_env, capture_output=True, text=True, check=False)
        server_side = server_latency(f"http://127.0.0.1:{api_port}/metrics", env["METRICS_TOKEN"])
    finally:
        stop_sampling.set()
        sampler.join(timeout=5)
        rss_after = server_rss(server.pid)
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=40)
        otp_fakes.stop()
    elapsed = time.monotonic() - started
    (work / "locust.out").write_text(result.stdout + result.stderr)

    with (Path(f"{csv_prefix}_stats.csv")).open() as handle:
        rows = list(csv.DictReader(handle))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    requests_total = int(total["Request Count"])
    failures = int(total["Failure Count"])
    error_rate = failures / requests_total if requests_total else 1.0
    p95 = float(total["95%"])
    server_log = (work / "server.log").read_text(errors="replace")
    pool_errors = sum(
        server_log.count(marker) for marker in ("too many clients", "too many connections", "OperationalError")
    )
    rss_series = [s["workers"] for s in samples["rss"]]
    steady = rss_series[len(rss_series) // 6 :] or rss_series  # after the ramp-up
    growth = (steady[-1] - steady[0]) / steady[0] if steady else 0.0
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": len(os.sched_getaffinity(0)),
        "load_average_after": os.getloadavg(),
        "server": "granian",
        "workers": workers,
        "threads": threads,
        "target_rps": args.rps,
        "users": args.users,
        "duration_s": args.duration,
        "elapsed_s": round(elapsed, 1),
        "requests": requests_total,
        "failures": failures,
        "error_rate": round(error_rate, 5),
        "achieved_rps": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p95_ms": p95,
        "p99_ms": float(total["99%"]),
        "max_ms": float(total["Max Response Time"]),
        # From the service's own histogram (/metrics): time inside Django, without the load generator's queueing.
        "server_side_p50_ms_upper_bound": server_side["p50_ms"],
        "server_side_p95_ms_upper_bound": server_side["p95_ms"],
        "db_connections_max": max(samples["connections"], default=0),
        "db_connections_limit": workers * threads,
        "pool_errors_in_log": pool_errors,
        "worker_rss_mb_before": round(rss_before["workers"] / 2**20, 1),
        "worker_rss_mb_after": round(rss_after["workers"] / 2**20, 1),
        "worker_rss_growth_steady": round(growth, 4),
        "per_endpoint": [
            {
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
            }
            for row in rows
            if row["Name"] != "Aggregated"
        ],
    }
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    checks = {
        "p95 < 500 ms": p95 < 500,
        "error rate < 0.5 %": error_rate < 0.005,
        "no pool exhaustion": pool_errors == 0 and report["db_connections_max"] <= workers * threads,
        "memory stable (< 20 % growth)": growth < 0.20,
        "achieved >= 90 % of the target rate": report["achieved_rps"] >= 0.9 * args.rps,
    }
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    print(f"Details: {work}")
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
