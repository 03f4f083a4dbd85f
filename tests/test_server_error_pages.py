"""Over-long request lines and over-large headers answer the JSON envelope with no proxy in front.

Without nginx, the HTTP server's own refusals would be what a client reads (an HTML page under the former
server). The WSGI application refuses them first, below the server's limits (manas360/request_limits.py);
this test talks to the production server process (`python -m manas360.server`), as deployed.
"""

import json
import socket

import pytest

from tests.servers import web_servers  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _raw(server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _assert_envelope(status, headers, body, expected_status, code):
    assert status == expected_status, body[:200]
    assert headers["content-type"] == "application/json"
    assert b"<html" not in body.lower()
    payload = json.loads(body)
    assert payload == {
        "success": False,
        "message": payload["message"],
        "error": payload["message"],
        "code": code,
        "requestId": headers["x-request-id"],
    }
    return payload


def test_refusals_of_oversized_requests_are_json(web_servers):  # noqa: F811
    (server,) = web_servers.start(1)
    secret = "priya.sharma@example.com"

    long_line = b"GET /api/v1/users/me?q=" + secret.encode() + b"x" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    status, headers, body = _raw(server, long_line)
    payload = _assert_envelope(status, headers, body, 414, "uri_too_long")
    assert secret not in json.dumps(payload)  # the offending line is not echoed back

    big_header = b"GET /api/v1/users/me HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n"
    _assert_envelope(*_raw(server, big_header), 431, "request_header_fields_too_large")

    many = b"".join(b"X-H%d: v\r\n" % n for n in range(95))
    _assert_envelope(
        *_raw(server, b"GET /api/v1/users/me HTTP/1.1\r\nHost: localhost\r\n" + many + b"\r\n"),
        431,
        "request_header_fields_too_large",
    )

    # A request the server cannot parse never reaches the application: the server's 400, never HTML.
    status, _headers, body = _raw(server, b"NOT A REQUEST LINE\r\n\r\n")
    assert status == 400
    assert b"<html" not in body.lower()

    # Requests within the limits still reach the application as before.
    ok = server.get("/api/v1/users/me", headers={"X-Fine": "z" * 4000})
    assert ok.status_code == 401
    assert ok.json()["code"] == "not_authenticated"
