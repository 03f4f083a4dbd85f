"""The container and server setup: gunicorn settings, Dockerfile, docker-compose.yml, nginx.

No Docker engine runs here, so the image is not built in the test suite; instead the
commands the Dockerfile runs are run here the same way, and the compose file's
structure is checked (docs/deployment.md says how it was validated with a compose CLI).
"""

import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
NGINX_CONF = (ROOT / "deploy/nginx/default.conf").read_text()


def _load_gunicorn_conf(monkeypatch, **env) -> dict:
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND", "PORT", "GUNICORN_CONTROL_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")  # several workers need a shared cache
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_defaults_fit_the_machine(monkeypatch, tmp_path):
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert conf["workers"] == len(os.sched_getaffinity(0))  # one process per core, threads within it
    assert conf["threads"] == 4  # the threaded worker: keep-alive behind nginx (docs/performance.md)
    assert conf["bind"] == "0.0.0.0:5000"
    assert conf["graceful_timeout"] == 30
    assert conf["timeout"] > 30  # the 30 s statement timeout fires first
    assert conf["accesslog"] is None  # the app writes its own JSON access log
    assert conf["control_socket_disable"] is True  # several instances on one host must not share a socket


def test_gunicorn_reads_workers_threads_and_port_from_the_environment(monkeypatch, tmp_path):
    conf = _load_gunicorn_conf(
        monkeypatch, GUNICORN_WORKERS="7", GUNICORN_THREADS="4", PORT="8123", PROMETHEUS_MULTIPROC_DIR=str(tmp_path)
    )
    assert (conf["workers"], conf["threads"], conf["bind"]) == (7, 4, "0.0.0.0:8123")


def test_gunicorn_gives_several_workers_one_metrics_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "placeholder")  # restored after the test
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    conf = _load_gunicorn_conf(monkeypatch, GUNICORN_WORKERS="3")
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # loading the settings has no side effect
    conf["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=3)))
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert directory.is_dir()
    conf["on_exit"](None)
    assert not directory.exists()


def test_gunicorn_empties_a_given_metrics_directory_at_start(monkeypatch, tmp_path):
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    conf["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=3)))
    assert not list(tmp_path.glob("*.db"))  # a previous run's dead workers are not counted
    conf["on_exit"](None)
    assert tmp_path.exists()  # not ours to remove


def test_one_worker_needs_no_metrics_directory(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "placeholder")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    conf = _load_gunicorn_conf(monkeypatch, GUNICORN_WORKERS="1")
    conf["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=1)))
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_child_exit_marks_the_worker_dead_for_prometheus(monkeypatch, tmp_path):
    conf = _load_gunicorn_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_4343.db").write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gauge_livesum_4343.db"]


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
    assert "gunicorn" in command
    assert "gunicorn.conf.py" in command
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
    assert int(grace[:-1]) > 30  # gunicorn's graceful_timeout fits before Docker's SIGKILL
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
