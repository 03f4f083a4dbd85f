"""The production server itself (`python -m manas360.server`, granian): keep-alive, the access log, recycling.

Graceful shutdown is proven in tests/faults/test_graceful_shutdown.py, metrics across workers in
tests/multi_instance/test_shared_state.py, the server's own request-size limits in tests/test_no_html_under_api.py.
"""

import http.client
import json
import re
import time
import uuid

import pytest
import requests

from tests import servers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

web_servers = servers.web_servers


def _access_log(server: servers.Server) -> list[dict]:
    lines = []
    for line in server.log_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "manas360.access":
                lines.append(record)
    return lines


def test_two_requests_share_one_connection_and_each_has_an_access_log_line(web_servers):
    (server,) = web_servers.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    request_ids = [uuid.uuid4().hex, uuid.uuid4().hex]
    try:
        connection.request("GET", "/health", headers={"X-Request-ID": request_ids[0]})
        first = connection.getresponse()
        first.read()
        socket_used = connection.sock
        local_address = socket_used.getsockname()
        connection.request("GET", "/api/v1/themed-rooms/themes", headers={"X-Request-ID": request_ids[1]})
        second = connection.getresponse()
        second.read()
        # The same TCP connection carried both (http.client reconnects, on a new port, after a close).
        assert connection.sock is socket_used
        assert connection.sock.getsockname() == local_address
    finally:
        connection.close()
    assert (first.status, second.status) == (200, 200)
    assert first.version == second.version == 11
    assert (first.getheader("Connection") or "").lower() != "close"

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        logged = {record.get("request_id"): record for record in _access_log(server)}
        if all(request_id in logged for request_id in request_ids):
            break
        time.sleep(0.1)
    assert logged[request_ids[0]]["path"] == "/health"
    assert logged[request_ids[0]]["status"] == 200
    assert logged[request_ids[1]]["path"] == "/api/v1/themed-rooms/themes"
    # One line per request, and none from the server itself (its access log stays off).
    assert sum(1 for record in _access_log(server) if record.get("request_id") in request_ids) == 2
    assert '"GET /health HTTP/1.1" 200' not in server.log_text()


def test_a_worker_over_its_memory_limit_is_replaced_and_the_server_keeps_answering(web_servers):
    # 1 MiB is below any Python process: the worker is recycled at every sample (each second), its replacement
    # started 10 s before it is told to stop.
    env = {"WEB_WORKER_MAX_RSS": "1", "WEB_WORKER_RSS_INTERVAL": "1", "WEB_GRACEFUL_TIMEOUT": "5"}
    (server,) = web_servers.start(env=env)
    # The worker the server started with (by now it may already share the stage with its replacement).
    first_worker = int(re.search(r"Spawning worker-1 with PID: (\d+)", server.log_text()).group(1))
    answers: list[int | str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answers.append(requests.get(server.url("/health"), timeout=10).status_code)
        except requests.ConnectionError as error:
            answers.append("refused" if "refused" in str(error) else "reset")
        if first_worker not in server.worker_pids():
            break
        time.sleep(0.1)
    replacement = server.worker_pids()
    assert replacement
    assert first_worker not in replacement  # the first worker has exited, replaced
    # The replacement listens before the old worker stops: never a moment with nothing listening. A connection
    # the kernel had queued on the old worker's socket as it closed is reset, unless net.ipv4.tcp_migrate_req
    # is on (docs/deployment.md): at most that one here.
    assert "refused" not in answers
    assert answers.count("reset") <= 1
    assert answers[-1] == 200
    assert answers.count(200) >= len(answers) - 1
    assert requests.get(server.url("/health/db"), timeout=10).status_code == 200
    assert server.is_running()
    assert "RSS over threshold" in server.log_text()
