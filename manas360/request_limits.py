"""Over-long request targets and over-large headers answer the JSON envelope, whatever server runs the app.

nginx refuses them first in production (deploy/nginx/default.conf). Without it in front (a bare server, a
cloud load balancer that forwards anything) the HTTP server's own refusals would be what clients read, and
those are not our envelope. So the WSGI application refuses them itself, below the server's limits and before
Django runs: 414 `uri_too_long` for a long target, 431 `request_header_fields_too_large` for a long header
field, a large header section or too many fields. The answer never echoes the request's text (it may carry
personal data) and has a fresh request id.
"""

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

# Far above what a client sends (nginx's own limits are 4 KiB per line) and far below granian's (64 KiB for
# the target, 400 KiB for the head, 100 header fields), so these are the limits clients meet.
MAX_TARGET_BYTES = 8190
MAX_FIELD_BYTES = 8190
MAX_HEADER_BYTES = 32 * 1024
MAX_FIELDS = 90

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REFUSALS = {
    414: ("414 URI Too Long", "uri_too_long", "The request line is too long."),
    431: (
        "431 Request Header Fields Too Large",
        "request_header_fields_too_large",
        "The request headers are too large.",
    ),
}


def refusal_status(environ: dict[str, Any]) -> int | None:
    """414 or 431 when the request is over a limit, else None."""
    target = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1
    if target > MAX_TARGET_BYTES:
        return 414
    fields = [(key, value) for key, value in environ.items() if key.startswith("HTTP_")]
    fields += [(key, environ[key]) for key in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(key)]
    sizes = [len(key) + len(str(value)) for key, value in fields]
    if len(fields) > MAX_FIELDS or sum(sizes) > MAX_HEADER_BYTES or any(size > MAX_FIELD_BYTES for size in sizes):
        return 431
    return None


class RequestLimits:
    """WSGI middleware around the Django application (manas360/wsgi.py)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status = refusal_status(environ)
        if status is None:
            return self.app(environ, start_response)
        status_line, code, message = _REFUSALS[status]
        request_id = uuid.uuid4().hex
        body = json.dumps(
            {"success": False, "message": message, "error": message, "code": code, "requestId": request_id}
        ).encode()
        start_response(
            status_line,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Request-ID", request_id),
                ("Connection", "close"),
            ],
        )
        return [body]
