"""SIGTERM while requests are in flight: they finish, nothing new is served, the server exits in time."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from accounts.models import AuditLog
from tests.faults.controls import wait_for_sleeping_requests

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTINGS = "tests.faults.server_settings"


@pytest.mark.parametrize("workers", [1, 3], ids=["one-worker", "three-workers"])
def test_sigterm_finishes_in_flight_requests_and_stops_accepting(web_servers, workers):
    # Three slow requests in flight at once. The kernel, not the workers' load, decides which worker accepts a
    # connection, so several may land on one worker: each worker has a thread for each of them.
    threads = 3
    (server,) = web_servers.start(workers=workers, threads=threads, settings_module=SETTINGS)
    idle = requests.Session()  # an idle keep-alive connection must not hold the shutdown up
    assert idle.get(server.url("/health"), timeout=10).status_code == 200
    markers = [uuid.uuid4().hex for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        in_flight = [
            pool.submit(requests.get, server.url(f"/api/v1/_test/slow?seconds=3&marker={marker}"), timeout=30)
            for marker in markers
        ]
        wait_for_sleeping_requests(3)  # every request is inside a worker, in the database
        signalled_at = time.monotonic()
        server.signal(15)  # SIGTERM
        time.sleep(0.5)
        # A request arriving after SIGTERM is not served.
        with pytest.raises(requests.RequestException):
            requests.get(server.url("/health"), timeout=2)
        responses = [future.result() for future in in_flight]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert sorted(response.json()["data"]["marker"] for response in responses) == sorted(markers)
    server.process.wait(timeout=30)
    exited_after = time.monotonic() - signalled_at
    assert server.process.returncode == 0
    assert 0.5 < exited_after < 30  # waited for the requests to finish, well inside the graceful timeout
    # No data loss: the write at the end of each interrupted-by-shutdown request is committed.
    assert AuditLog.objects.filter(action="test.slow_done", resource_id__in=markers).count() == 3
    idle.close()
    log = server.log_text()
    assert "Granian shutdown completed" in log
    assert "Killing" not in log  # every worker stopped by itself, none after the graceful timeout
    assert "Traceback" not in log
