"""PostgreSQL stops under a running service, then comes back (no service restart)."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import issue_access_token
from tests.faults.controls import wait_for_sleeping_requests

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTINGS = "tests.faults.server_settings"


def test_connections_are_persistent_and_carry_the_statement_timeout(web_servers):
    (server,) = web_servers.start(
        workers=1, threads=1, settings_module=SETTINGS, env={"DB_STATEMENT_TIMEOUT_MS": "1500"}
    )
    first = server.get("/api/v1/_test/db-session").json()["data"]
    second = server.get("/api/v1/_test/db-session").json()["data"]
    # DB_CONN_MAX_AGE: the second request reuses the first one's PostgreSQL session.
    assert second["backendPid"] == first["backendPid"]
    assert first["statementTimeout"] == "1500ms"

    marker = uuid.uuid4().hex
    started = time.monotonic()
    response = server.get(f"/api/v1/_test/slow?seconds=5&marker={marker}")
    # PostgreSQL cancels the statement at 1.5 s: a JSON error, not a request hanging until the worker is killed.
    assert time.monotonic() - started < 4
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert not AuditLog.objects.filter(resource_id=marker).exists()
    # The worker and its connection keep serving.
    assert server.get("/api/v1/_test/db-session").status_code == 200


def test_database_outage_is_503_json_writes_nothing_and_recovers_without_a_restart(web_servers, postgres_control):
    (server,) = web_servers.start(workers=1, threads=2, settings_module=SETTINGS)
    user = UserFactory()
    bearer = {"Authorization": f"Bearer {issue_access_token(user=user)}"}
    assert server.get("/api/v1/_test/whoami", headers=bearer).json()["data"]["id"] == str(user.pk)
    worker_pids = server.worker_pids()
    assert len(worker_pids) == 1

    # A write is in flight (its first row written, its transaction open) when the database stops.
    marker = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(server.post, "/api/v1/_test/two-step-write", json={"marker": marker, "pause": 30})
        wait_for_sleeping_requests(1)  # its first row is written, its transaction open
        postgres_control.stop()
        interrupted = in_flight.result()
    assert interrupted.status_code == 503
    assert interrupted.json()["code"] == "service_unavailable"
    assert interrupted.json()["success"] is False

    db = server.get("/health/db")
    assert db.status_code == 503
    assert db.json()["database"] == "unreachable"
    assert server.get("/health/ready").status_code == 503
    assert server.get("/health").status_code == 200  # liveness: the process itself is fine
    api = server.get("/api/v1/_test/whoami", headers=bearer)
    assert api.status_code == 503
    assert api.headers["Content-Type"].startswith("application/json")
    assert api.json()["code"] == "service_unavailable"
    assert api.json()["requestId"]
    write = server.post("/api/v1/_test/two-step-write", json={"marker": marker, "pause": 0})
    assert write.status_code == 503

    postgres_control.start()
    # The very first requests after the restart succeed: CONN_HEALTH_CHECKS drops the dead connections.
    assert server.get("/health/db").status_code == 200
    assert server.get("/api/v1/_test/whoami", headers=bearer).status_code == 200
    assert server.get("/health/ready").status_code == 200
    # Same processes: recovered without restarting the service.
    assert server.is_running()
    assert server.worker_pids() == worker_pids
    # Nothing half-written: the interrupted transaction left no row, not even its first one.
    assert not AuditLog.objects.filter(resource_id=marker).exists()
    assert server.post("/api/v1/_test/two-step-write", json={"marker": marker}).status_code == 201
    assert AuditLog.objects.filter(resource_id=marker).count() == 2
