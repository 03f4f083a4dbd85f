"""Requests the HTTP server refuses itself answer the JSON envelope, with no proxy in front (gunicorn.conf.py).

Bug reproduced: without nginx in front, an over-long request line (414) or over-large headers (431) got
gunicorn's own HTML page. These requests never reach Django, so the server's own answer is what a client
reads; this test talks to the production server process (`gunicorn -c gunicorn.conf.py`), as deployed.
"""

import json
import socket

import pytest

from tests.servers import gunicorn_servers  # noqa: F401  (the fixture)

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


def test_refusals_by_the_server_itself_are_json(gunicorn_servers):  # noqa: F811
    (server,) = gunicorn_servers.start(1)
    secret = "priya.sharma@example.com"

    long_line = b"GET /api/v1/users/me?q=" + secret.encode() + b"x" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    status, headers, body = _raw(server, long_line)
    payload = _assert_envelope(status, headers, body, 414, "uri_too_long")
    assert secret not in json.dumps(payload)  # the offending line is not echoed back

    big_header = b"GET /api/v1/users/me HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n"
    _assert_envelope(*_raw(server, big_header), 431, "request_header_fields_too_large")

    many = b"".join(b"X-H%d: v\r\n" % n for n in range(150))
    _assert_envelope(
        *_raw(server, b"GET /api/v1/users/me HTTP/1.1\r\nHost: localhost\r\n" + many + b"\r\n"),
        431,
        "request_header_fields_too_large",
    )

    _assert_envelope(*_raw(server, b"NOT A REQUEST LINE\r\n\r\n"), 400, "bad_request")

    # Requests within the limits still reach the application as before.
    ok = server.get("/api/v1/users/me", headers={"X-Fine": "z" * 4000})
    assert ok.status_code == 401
    assert ok.json()["code"] == "not_authenticated"
