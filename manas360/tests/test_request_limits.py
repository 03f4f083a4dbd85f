"""The WSGI guard refuses oversized requests before Django runs, and passes everything else through unchanged."""

import json

import pytest

from manas360.request_limits import MAX_FIELDS, MAX_TARGET_BYTES, RequestLimits


def _call(environ):
    reached, started = [], {}

    def app(environ, start_response):
        reached.append(environ)
        start_response("200 OK", [])
        return [b"app"]

    def start_response(status, headers):
        started.update(status=status, headers=dict(headers))

    body = b"".join(RequestLimits(app)(environ, start_response))
    return reached, started, body


def test_a_request_within_the_limits_reaches_the_application():
    environ = {"PATH_INFO": "/api/v1/users/me", "QUERY_STRING": "a=" + "b" * 4000, "HTTP_X_FINE": "z" * 4000}
    reached, started, body = _call(environ)
    assert reached == [environ]
    assert (started["status"], body) == ("200 OK", b"app")


@pytest.mark.parametrize(
    ("environ", "status", "code"),
    [
        ({"PATH_INFO": "/x", "QUERY_STRING": "q=" + "a" * MAX_TARGET_BYTES}, "414 URI Too Long", "uri_too_long"),
        (
            {"PATH_INFO": "/x", "HTTP_X_BIG": "b" * 9000},
            "431 Request Header Fields Too Large",
            "request_header_fields_too_large",
        ),
        (
            {"PATH_INFO": "/x", **{f"HTTP_X_H{n}": "v" for n in range(MAX_FIELDS + 1)}},
            "431 Request Header Fields Too Large",
            "request_header_fields_too_large",
        ),
        (
            {"PATH_INFO": "/x", **{f"HTTP_X_H{n}": "v" * 5000 for n in range(7)}},
            "431 Request Header Fields Too Large",
            "request_header_fields_too_large",
        ),
    ],
)
def test_an_oversized_request_is_refused_in_the_envelope_without_echoing_it(environ, status, code):
    environ["QUERY_STRING"] = environ.get("QUERY_STRING", "") + "&email=priya.sharma@example.com"
    reached, started, body = _call(environ)
    assert reached == []  # Django never ran
    assert started["status"] == status
    assert started["headers"]["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["code"] == code
    assert payload["success"] is False
    assert payload["requestId"] == started["headers"]["X-Request-ID"]
    assert "priya.sharma" not in body.decode()
