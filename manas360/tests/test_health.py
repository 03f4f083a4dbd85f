import os
import subprocess

import pytest
from django.db import connections
from prometheus_client.parser import text_string_to_metric_families


@pytest.mark.django_db
def test_health_is_liveness_only(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["timestamp"].endswith("Z")
    assert isinstance(body["uptime"], float)


@pytest.mark.django_db
def test_health_db_reports_latency(client):
    body = client.get("/health/db").json()
    assert body["status"] == "ok"
    assert body["database"] == "connected"
    assert body["latencyMs"] >= 0


@pytest.mark.django_db
def test_health_ready_checks_database_migrations_and_cache(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_ready_is_503_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "unreachable"}


def _pg_ctl(action: str) -> None:
    data_dir = os.environ["PG_DATA"]
    # -l: without a log file the server would inherit (and hold open) our output pipe.
    command = [
        f"{os.environ['PG_BIN']}/pg_ctl",
        "-D",
        data_dir,
        "-l",
        f"{data_dir}/../server.log",
        "-w",
        "-m",
        "fast",
        action,
    ]
    if os.environ.get("PG_RUN_AS"):
        command = ["runuser", "-u", os.environ["PG_RUN_AS"], "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture
def stopped_database():
    """Stop the throw-away PostgreSQL for the duration of a test, then bring it back."""
    if "PG_DATA" not in os.environ:
        pytest.fail("This test needs the throw-away PostgreSQL started by scripts/test.sh (PG_DATA unset).")
    connections.close_all()
    _pg_ctl("stop")
    try:
        yield
    finally:
        _pg_ctl("start")
        connections.close_all()


@pytest.mark.urls("manas360.tests.probe_urls")
@pytest.mark.django_db(transaction=True)
def test_health_endpoints_answer_503_while_the_database_is_stopped(client, stopped_database):
    db = client.get("/health/db")
    assert db.status_code == 503
    assert db.json() == {"status": "error", "database": "unreachable", "timestamp": db.json()["timestamp"]}
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unreachable"
    assert client.get("/health").status_code == 200
    api = client.get("/api/v1/_probe/database")
    assert api.status_code == 503
    assert api.json()["code"] == "service_unavailable"


@pytest.mark.django_db
def test_metrics_are_prometheus_text_with_route_status_latency_and_memory(client):
    client.get("/health")
    client.get("/api/v1/no/such/route")
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    requests = {
        (sample.labels["route"], sample.labels["status"])
        for sample in families["http_requests"].samples
        if sample.name == "http_requests_total"
    }
    assert ("health", "200") in requests
    assert ("unmatched", "404") in requests
    assert any(
        s.name == "http_request_duration_seconds_bucket" for s in families["http_request_duration_seconds"].samples
    )
    assert families["process_resident_memory_bytes"].samples[0].value > 0


@pytest.mark.django_db
def test_metrics_token_is_required_when_configured(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
