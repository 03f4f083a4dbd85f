"""The compose stack runs background-job workers from the backend image (docs/deployment.md), and what
happens without PostgreSQL (README "Background jobs")."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_a_scalable_worker_from_the_same_image_with_a_health_check():
    services = COMPOSE["services"]
    worker, backend = services["worker"], services["backend"]
    assert worker["image"] == backend["image"]
    assert worker["environment"] == backend["environment"]  # same settings, same database
    assert worker["command"] == ["python", "manage.py", "jobs_worker"]
    # Scalable with --scale worker=N: no fixed name, no published port.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["healthcheck"]["test"] == ["CMD", "python", "manage.py", "jobs_worker", "--healthcheck"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert int(worker["stop_grace_period"].rstrip("s")) > 30  # JOBS_SHUTDOWN_GRACE_SECONDS fits
    # No scheduler service: periodic jobs are de-duplicated in PostgreSQL across workers.
    assert not [name for name in services if "scheduler" in name or "beat" in name]


def test_worker_command_refuses_sqlite_with_a_clear_message(tmp_path):
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "jobs_worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Background jobs need PostgreSQL" in result.stderr


def test_without_postgresql_the_job_admin_is_hidden_and_deferring_does_not_fail(tmp_path):
    script = (
        "import django; django.setup()\n"
        "from django.contrib import admin\n"
        "from procrastinate.contrib.django.models import ProcrastinateJob\n"
        "from rooms.tasks import close_abandoned_sessions\n"
        "print('registered', admin.site.is_registered(ProcrastinateJob))\n"
        "print('deferred', close_abandoned_sessions.defer(timestamp=1))\n"
    )
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "manas360.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "registered False" in result.stdout
    assert "deferred 1" in result.stdout  # procrastinate's in-memory connector: accepted, never run
    assert "background jobs need PostgreSQL" in result.stderr
