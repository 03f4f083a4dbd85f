"""Nothing under /api/ answers HTML (issue: "Nothing under /api/ answers HTML").

Attacks reproduced: a `Host` header outside ALLOWED_HOSTS got Django's HTML "Bad Request (400)" page (with
DEBUG on, the technical page); an over-long request line got the server's own HTML page. The first is
answered by the API boundary; the second never reaches the server: nginx refuses it in JSON
(deploy/nginx/default.conf), far below the server's own limits (whose refusals have an empty body).
"""

import json
import re
import socket

import pytest

from tests import servers
from tests.test_deployment import NGINX_CONF

pytestmark = pytest.mark.django_db

web_servers = servers.web_servers  # the real-server fixture, for the server's own limits


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/users/me"), ("post", "/api/v1/auth/send-otp"), ("get", "/api/v1/no-such-thing")],
)
def test_a_disallowed_host_answers_the_json_envelope(client, settings, debug, method, path):
    settings.DEBUG = debug
    response = getattr(client, method)(path, HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "bad_request"
    assert body["requestId"] == response["X-Request-ID"]


def test_a_disallowed_host_sends_no_code(client):
    from accounts.models import OtpChallenge
    from accounts.otp_delivery import outbox

    client.post("/api/v1/auth/send-otp", {"phone": "+919812345678"}, HTTP_HOST="attacker.example")
    assert not outbox
    assert not OtpChallenge.objects.exists()


def test_an_allowed_host_is_served(client):
    assert client.get("/api/v1/users/me").json()["code"] == "not_authenticated"


def _location(uri: str) -> str:
    match = re.search(r"location = " + re.escape(uri) + r" \{(.*?)\n    \}", NGINX_CONF, re.S)
    assert match, uri
    return match.group(1)


@pytest.mark.parametrize(
    ("codes", "uri", "status", "code"),
    [
        ("414", "/_nginx_errors/uri-too-long.json", 414, "uri_too_long"),
        ("400 494", "/_nginx_errors/bad-request.json", 400, "bad_request"),
        ("502 503 504", "/_nginx_errors/unavailable.json", 503, "service_unavailable"),
    ],
)
def test_nginx_answers_its_own_errors_with_the_json_envelope(codes, uri, status, code):
    """Checked against a real nginx 1.22 too (docs/deployment.md); nginx is not installed where tests run."""
    assert f"error_page {codes} {uri};" in NGINX_CONF
    block = _location(uri)
    assert "internal;" in block
    assert "default_type application/json;" in block
    returned = re.search(r"return (\d+) '(.*)';", block)
    assert int(returned.group(1)) == status
    body = json.loads(returned.group(2).replace("$manas360_request_id", "abc"))
    assert body == {
        "success": False,
        "message": body["message"],
        "error": body["message"],
        "code": code,
        "requestId": "abc",
    }
    assert "proxy_intercept_errors on" not in NGINX_CONF  # the backend's own JSON errors pass through


def _raw_request(port: int, head: str) -> tuple[str, bytes]:
    """Send one request head as is; return the status line and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    return head_bytes.split(b"\r\n", 1)[0].decode(), body


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_refuses_long_lines_before_the_server_would(web_servers):
    buffers = re.search(r"large_client_header_buffers (\d+) (\d+)k;", NGINX_CONF)
    count, size = int(buffers.group(1)), int(buffers.group(2)) * 1024
    (server,) = web_servers.start()
    # The longest line nginx forwards and a head as large as its buffers hold are served by the server.
    line = f"GET /health?{'a' * (size - 40)} HTTP/1.1\r\n"
    headers = "".join(f"X-Filler-{i}: {'b' * (size - 40)}\r\n" for i in range(count - 1))
    status, _ = _raw_request(server.port, f"{line}Host: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n")
    assert status == "HTTP/1.1 200 OK"
    # The server's own refusal, far beyond nginx's limit, has an empty body: no HTML either.
    long_line = f"GET /api/v1/users/me?{'a' * 70000} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, body = _raw_request(server.port, long_line)
    assert status == "HTTP/1.1 414 URI Too Long"
    assert body == b""
