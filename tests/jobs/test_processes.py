"""The compose stack runs background-job workers from the backend image (docs/deployment.md)."""

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
