"""The container and server setup: the server's settings (manas360/server.py), Dockerfile, compose, nginx.

No Docker engine runs here, so the image is not built in the test suite; instead the
commands the Dockerfile runs are run here the same way, and the compose file's
structure is checked (docs/deployment.md says how it was validated with a compose CLI).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from granian.constants import Interfaces

from manas360 import server as server_module
from manas360.server import ServerConfig, build_server, prepare_metrics_dir

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
NGINX_CONF = (ROOT / "deploy/nginx/default.conf").read_text()


SERVER_VARIABLES = (
    "WEB_BIND",
    "PORT",
    "WEB_WORKERS",
    "WEB_THREADS",
    "WEB_GRACEFUL_TIMEOUT",
    "WEB_BACKLOG",
    "WEB_WORKER_LIFETIME",
    "WEB_WORKER_MAX_RSS",
    "WEB_WORKER_RSS_INTERVAL",
    "WEB_LOG_LEVEL",
)


def server_config(**env: str) -> ServerConfig:
    """manas360.server's settings from exactly these variables (none of the test run's own)."""
    assert set(env) <= set(SERVER_VARIABLES)
    return ServerConfig.from_environ(env)


def test_server_defaults_fit_the_machine():
    config = server_config()
    assert config.workers == len(os.sched_getaffinity(0))  # one process per core, threads within it
    assert config.threads == 4  # overlap one request's waits with another's work (docs/performance.md)
    assert (config.host, config.port) == ("0.0.0.0", 5000)  # noqa: S104 - a container listens on all
    assert config.graceful_timeout == 30
    assert config.backlog == 2048
    assert (config.worker_lifetime, config.worker_max_rss) == (None, None)  # no recycling unless asked
    assert config.log_level == "info"


def test_server_reads_workers_threads_and_port_from_the_environment():
    config = server_config(WEB_WORKERS="7", WEB_THREADS="3", PORT="8123")
    assert (config.workers, config.threads, config.host, config.port) == (7, 3, "0.0.0.0", 8123)  # noqa: S104
    config = server_config(WEB_BIND="127.0.0.1:9001", PORT="8123")
    assert (config.host, config.port) == ("127.0.0.1", 9001)
    assert server_config(WEB_BIND="[::1]:9002").host == "::1"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WEB_WORKERS", "two", "WEB_WORKERS must be a whole number"),
        ("WEB_BIND", "localhost", "WEB_BIND must be host:port"),
        ("WEB_WORKER_LIFETIME", "59", "at least 60 seconds"),
        ("WEB_LOG_LEVEL", "loud", "WEB_LOG_LEVEL must be one of"),
    ],
)
def test_server_refuses_settings_it_cannot_honour(variable, value, message):
    with pytest.raises(SystemExit, match=message):
        server_config(**{variable: value})


def test_server_settings_reach_granian():
    config = server_config(
        WEB_BIND="127.0.0.1:8124",
        WEB_WORKERS="3",
        WEB_THREADS="2",
        WEB_GRACEFUL_TIMEOUT="25",
        WEB_WORKER_LIFETIME="3600",
        WEB_WORKER_MAX_RSS="300",
        WEB_WORKER_RSS_INTERVAL="10",
        WEB_LOG_LEVEL="warning",
    )
    server = build_server(config)
    assert server.target == "manas360.wsgi:application"
    assert server.interface == Interfaces.WSGI
    assert (server.bind_addr, server.bind_port) == ("127.0.0.1", 8124)
    assert (server.workers, server.blocking_threads) == (3, 2)
    assert server.workers_kill_timeout == 25  # a worker still busy after the graceful timeout is killed
    assert server.workers_lifetime == 3600
    assert server.workers_rss == 300 * 1024 * 1024
    assert server.rss_sample_interval == 10
    assert server.respawn_failed_workers is True  # a crashed worker is replaced
    assert server.respawn_interval == 10  # time for a recycled worker's replacement to load the application
    assert server.http1_settings.keep_alive is True  # nginx and load balancers reuse connections
    assert server.log_access is False  # the app writes its own JSON access log
    assert server.log_level == "warning"
    # Idle threads (and their persistent PostgreSQL connections) are kept as long as granian allows.
    assert server.blocking_threads_idle_timeout == 600


def test_server_gives_several_workers_one_metrics_directory(monkeypatch):
    environ: dict[str, str] = {}
    owned = prepare_metrics_dir(3, environ)
    assert owned is not None
    assert environ["PROMETHEUS_MULTIPROC_DIR"] == owned
    assert Path(owned).is_dir()

    # main() removes the directory it made when the server exits.
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_WORKERS", "1")
    monkeypatch.setattr(server_module, "prepare_metrics_dir", lambda workers, environ: owned)
    served = []
    monkeypatch.setattr(server_module, "build_server", lambda config: SimpleNamespace(serve=lambda: served.append(1)))
    server_module.main()
    assert served == [1]
    assert not Path(owned).exists()


def test_server_empties_a_given_metrics_directory_at_start(tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("kept")
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    assert prepare_metrics_dir(3, environ) is None  # given, so not the server's to remove
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]  # a previous run's workers are not counted


def test_one_worker_needs_no_metrics_directory():
    environ: dict[str, str] = {}
    assert prepare_metrics_dir(1, environ) is None
    assert environ == {}


def _instructions(keyword: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(keyword + " ")]


def test_dockerfile_is_multi_stage_slim_non_root_with_healthcheck():
    stages = _instructions("FROM")
    assert len(stages) >= 2
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    assert "COPY --from=builder" in DOCKERFILE
    users = _instructions("USER")
    assert users
    assert users[-1] not in ("root", "0")
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/health" in healthcheck
    (command,) = _instructions("CMD")
    # Exec form (PID 1 is the server and gets SIGTERM itself), the one supported server.
    assert json.loads(command) == ["python", "-m", "manas360.server"]
    # Migrations are a separate one-shot command, never part of the server's start.
    assert "migrate" not in command
    assert not _instructions("ENTRYPOINT")
    assert any("collectstatic" in run for run in _instructions("RUN"))


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".env", "var", "staticfiles"):
        assert entry in ignored


def _production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    for name in ("TESTING", "REDIS_URL", "OTP_DEV_FIXED_CODE"):
        env.pop(name, None)
    for line in (ROOT / "deploy/production.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


@pytest.mark.slow
def test_the_dockerfile_collectstatic_step_runs_here(tmp_path):
    """The Dockerfile's own collectstatic line, run on a copy of the tree (it writes staticfiles/)."""
    (step,) = [run for run in _instructions("RUN") if "collectstatic" in run]
    words = shlex.split(step)
    assignments = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert words[:2] == ["python", "manage.py"]
    copy = tmp_path / "app"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "var", "staticfiles", "node_modules", "__pycache__", "tests"),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TESTING", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, *words[1:]],
        cwd=copy,
        env={**env, **assignments},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    collected = copy / "staticfiles"
    assert (collected / "admin/css/base.css").is_file()
    assert (collected / "admin/css/base.css.gz").is_file()  # compressed for WhiteNoise
    assert (collected / "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").is_file()


@pytest.mark.slow
def test_deploy_checks_pass_with_the_production_environment():
    """`manage.py check --deploy` with deploy/production.env.example: no error, no security warning.

    The one accepted warning is security.W021 (HSTS preload): submitting the domain to the
    browsers' preload list is an irreversible business decision, not a default.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    security_issues = set(re.findall(r"\(security\.[WE]\d+\)", output))
    assert security_issues <= {"(security.W021)"}, output


def test_the_production_environment_is_refused_without_its_secrets():
    env = _production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_compose_runs_postgres_15_redis_7_and_a_scalable_backend_behind_nginx():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "migrate", "backend", "nginx", "phonepe-simulator"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:18")
    assert services["redis"]["image"].startswith("redis:7")
    backend = services["backend"]
    # Scalable with --scale backend=3: no fixed container name and no host port of its own.
    assert "container_name" not in backend
    assert "ports" not in backend
    assert backend["expose"] == ["5000"]
    assert "/health" in " ".join(backend["healthcheck"]["test"])
    assert backend["environment"]["REDIS_URL"].startswith("redis://redis:")  # shared rate limits
    assert backend["environment"]["DATABASE_URL"].startswith("postgres://")
    assert backend["environment"]["DEBUG"] == "${DEBUG:-0}"  # production behaviour unless asked otherwise
    grace = backend["stop_grace_period"]
    assert grace.endswith("s")
    # The server's graceful timeout fits before Docker's SIGKILL.
    assert int(grace[:-1]) > int(backend["environment"]["WEB_GRACEFUL_TIMEOUT"]) == 30
    # The server never migrates; the one-shot migrate service does, before any backend starts.
    assert "migrate" not in str(backend.get("command", ""))
    assert "migrate" in " ".join(services["migrate"]["command"])
    assert backend["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"].get("restart") == "no"
    simulator = " ".join(services["phonepe-simulator"]["command"])
    assert "manage.py phonepe_simulator --port 8081" in simulator
    assert services["nginx"]["ports"] == ["${HTTP_PORT:-5000}:80"]


def test_compose_dependencies_wait_for_health_and_data_lives_in_named_volumes():
    services = COMPOSE["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    assert services["backend"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["backend"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["backend"]["condition"] == "service_healthy"
    declared = set(COMPOSE["volumes"])
    used = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == declared == {"postgres-data", "redis-data"}
    for service in services.values():
        for volume in service.get("volumes", []):
            if volume.startswith("./"):
                assert (ROOT / volume.split(":")[0]).exists(), volume


def test_nginx_spreads_requests_over_every_backend_replica():
    # Resolved at request time through Docker's DNS, so every replica of `backend` gets traffic.
    assert "resolver 127.0.0.11" in NGINX_CONF
    assert re.search(r"set \$(\w+) http://backend:5000;\s+proxy_pass \$\1;", NGINX_CONF)
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in NGINX_CONF
    assert COMPOSE["x-backend-environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert "proxy_set_header X-Request-ID" in NGINX_CONF
    # Bodies up to the API's own 1 MiB limit reach the API (which answers 413 JSON above it).
    size = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF)
    assert size
    assert int(size.group(1)) >= 1
