"""HTTP plumbing shared by every route of the simulator: body parsing, JSON answers,
the PhonePe URL prefixes, O-Bearer checks, fault injection and the request journal.

Routes are declared by the responsibility mixins (`ROUTES = [(method, regex, name)]`);
`handler.SimulatorHandler` collects them into one table.
"""

import json
import logging
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from payments.phonepe.simulator.state import SimulatorState

logger = logging.getLogger("manas360.payments.simulator")

PREFIXES = ("/apis/pg-sandbox", "/apis/identity-manager", "/apis/pg")

Route = tuple[str, str, str]


class SimulatorHTTP(BaseHTTPRequestHandler):
    server_version = "PhonePeSimulator/1.0"
    protocol_version = "HTTP/1.1"
    _raw_body: bytes | None = None

    @property
    def state(self) -> SimulatorState:
        return self.server.state  # type: ignore[attr-defined]

    @property
    def sim(self):
        """The running `PhonePeSimulator` (callbacks, public URL)."""
        return self.server

    def log_message(self, format, *args):
        logger.debug("simulator %s", format % args)

    # --- request ------------------------------------------------------------------
    def _body(self) -> bytes:
        """The request body, read once (always drained, so a keep-alive connection stays in sync)."""
        if self._raw_body is None:
            length = int(self.headers.get("Content-Length") or 0)
            self._raw_body = self.rfile.read(length) if length else b""
        return self._raw_body

    def _json_body(self) -> dict:
        raw = self._body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _form_body(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self._body().decode(errors="replace")).items()}

    def _path(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        path = parts.path
        for prefix in PREFIXES:
            if path.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        return path, parse_qs(parts.query)

    # --- responses -------------------------------------------------------------------
    def _send_json(self, status: int, body: Any, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_empty(self, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_html(self, status: int, html: str) -> None:
        payload = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: int, code: str, message: str) -> None:
        self._send_json(status, {"code": code, "message": message, "data": {}})

    def _answer(self, result: tuple[int, dict]) -> None:
        status, body = result
        self._send_json(status, body)

    # --- guards ------------------------------------------------------------------
    def _fault(self, operation: str) -> bool:
        with self.state.lock:
            queue = self.state.faults.get(operation)
            status = queue.pop(0) if queue else None
        if status is None:
            return False
        if status == 0:  # drop the connection
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return True
        headers = {"Retry-After": "1"} if status == 429 else None
        self._send_json(status, {"code": "SIMULATED_FAULT", "message": f"Injected {status}"}, headers)
        return True

    def _authorized(self) -> bool:
        """O-Bearer with a live token. Tokens live in real time, not on the movable clock."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self.state.lock:
            expires = self.state.tokens.get(token)
        if scheme != "O-Bearer" or expires is None or expires <= time.time():
            self._send_json(401, {"code": "UNAUTHORIZED", "errorCode": "401", "message": "Unauthorized"})
            return False
        return True

    def _guarded(self, operation: str) -> bool:
        """True when the call may proceed (authorised, no fault injected for it)."""
        return self._authorized() and not self._fault(operation)

    # --- routing ------------------------------------------------------------------
    ROUTE_TABLE: list[tuple[str, re.Pattern, str]] = []

    def _dispatch(self, method: str) -> None:
        self._raw_body = None
        self._body()
        path, query = self._path()
        with self.state.lock:
            self.state.requests.append({"method": method, "path": path})
        for route_method, pattern, name in self.ROUTE_TABLE:
            if route_method == method and (match := pattern.fullmatch(path)):
                getattr(self, name)(*match.groups(), query=query)
                return
        self._error(404, "NOT_FOUND", "No such endpoint")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")
