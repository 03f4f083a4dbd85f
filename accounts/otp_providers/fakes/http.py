"""The HTTP half of the fakes: WhatsApp Cloud API (Graph), MSG91's Flow API and a control endpoint.

Each route checks what the real provider checks (bearer token / authkey, the request's shape) and answers in
the provider's own success and error shapes (accounts/otp_providers/whatsapp.py, msg91.py).

Control (for tests, scripts and people): `POST /fake/failures {"channel", "times", "status"?, "code"?}` makes
the next calls of a channel fail; `GET /fake/messages` lists what was delivered; `GET /fake/codes/<to>` answers
the newest code sent to `<to>` (waiting up to 10 s for it); `DELETE /fake/messages` forgets everything.
"""

import json
import logging
import re
import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from accounts.otp_providers.fakes.state import FakeState

logger = logging.getLogger("manas360.otp.fakes")

WHATSAPP_PATH = re.compile(r"/(v\d+\.\d+)/([^/]+)/messages")
MSG91_PATH = re.compile(r"/api/v5/flow/?")
CODES_PATH = re.compile(r"/fake/codes/(.+)")


def graph_error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": int(code) if code.isdigit() else code,
            "error_data": {"messaging_product": "whatsapp", "details": message},
            "fbtrace_id": secrets.token_urlsafe(12),
        }
    }


class FakeProvidersHandler(BaseHTTPRequestHandler):
    server_version = "OtpProviderFakes/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> FakeState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("otp fakes %s", format % args)

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # --- routing -------------------------------------------------------------------
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._json_body()
        if match := WHATSAPP_PATH.fullmatch(path):
            self._send(*self._whatsapp(match.group(2), body))
        elif MSG91_PATH.fullmatch(path):
            self._send(*self._msg91(body))
        elif path == "/fake/failures":
            self._send(*self._queue_failure(body))
        else:
            self._send(404, {"error": "no such endpoint"})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/fake/messages":
            with self.state.lock:
                self._send(200, {"messages": list(self.state.messages)})
        elif match := CODES_PATH.fullmatch(path):
            code = self.state.last_code(unquote(match.group(1)), wait_seconds=10)
            self._send(200 if code else 404, {"code": code})
        elif path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": "no such endpoint"})

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path == "/fake/messages":
            self.state.clear()
            self._send(200, {"cleared": True})
        else:
            self._send(404, {"error": "no such endpoint"})

    # --- WhatsApp Cloud API ----------------------------------------------------------
    def _whatsapp(self, phone_number_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        credentials = self.state.credentials
        if self.headers.get("Authorization") != f"Bearer {credentials.whatsapp_token}":
            self.state.record_request("whatsapp", "unauthorized")
            return graph_error(401, "190", "Invalid OAuth access token - Cannot parse access token")
        if phone_number_id != credentials.whatsapp_phone_number_id:
            self.state.record_request("whatsapp", "bad_request")
            return graph_error(
                400, "100", f"Unsupported post request. Object with ID '{phone_number_id}' does not exist"
            )
        template = body.get("template") if isinstance(body, dict) else None
        if (
            not isinstance(template, dict)
            or body.get("messaging_product") != "whatsapp"
            or body.get("type") != "template"
            or not str(body.get("to") or "").isdigit()
        ):
            self.state.record_request("whatsapp", "bad_request")
            return graph_error(400, "100", "(#100) Invalid parameter")
        if template.get("name") != credentials.whatsapp_template:
            self.state.record_request("whatsapp", "bad_request")
            return graph_error(404, "132001", "Template name does not exist in the translation")
        code = _template_code(template)
        if code is None:
            self.state.record_request("whatsapp", "bad_request")
            return graph_error(400, "132000", "Number of parameters does not match the expected number of params")
        if failure := self.state.next_failure("whatsapp"):
            self.state.record_request("whatsapp", "failed")
            return graph_error(failure.status, failure.code, "Message Undeliverable.")
        message_id = "wamid." + secrets.token_urlsafe(24)
        to = "+" + body["to"]
        self.state.record_request("whatsapp", "sent")
        self.state.deliver(channel="whatsapp", to=to, code=code, message_id=message_id)
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": message_id}],
        }

    # --- MSG91 Flow API ----------------------------------------------------------------
    def _msg91(self, body: Any) -> tuple[int, dict[str, Any]]:
        credentials = self.state.credentials
        if self.headers.get("authkey") != credentials.msg91_auth_key:
            self.state.record_request("sms", "unauthorized")
            return 401, {"type": "error", "message": "Authentication failure", "code": "201"}
        recipients = body.get("recipients") if isinstance(body, dict) else None
        if (
            body is None
            or not isinstance(recipients, list)
            or len(recipients) != 1
            or not isinstance(recipients[0], dict)
        ):
            self.state.record_request("sms", "bad_request")
            return 400, {"type": "error", "message": "Invalid recipients", "code": "400"}
        if body.get("template_id") != credentials.msg91_template_id:
            self.state.record_request("sms", "bad_request")
            return 400, {"type": "error", "message": "Template ID Missing or Invalid Template", "code": "211"}
        mobile = str(recipients[0].get("mobiles") or "")
        code = str(recipients[0].get(credentials.msg91_code_variable) or "")
        if not mobile.isdigit() or not code:
            self.state.record_request("sms", "bad_request")
            return 400, {"type": "error", "message": "Mobile or variable missing", "code": "202"}
        if failure := self.state.next_failure("sms"):
            self.state.record_request("sms", "failed")
            return failure.status, {"type": "error", "message": "Request failed", "code": failure.code}
        request_id = secrets.token_hex(12)
        self.state.record_request("sms", "sent")
        self.state.deliver(channel="sms", to="+" + mobile, code=code, message_id=request_id)
        return 200, {"type": "success", "message": request_id}

    # --- control -------------------------------------------------------------------------
    def _queue_failure(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or body.get("channel") not in ("whatsapp", "sms", "email"):
            return 400, {"error": "channel must be whatsapp, sms or email"}
        status = body.get("status")
        code = body.get("code")
        self.state.fail(
            body["channel"],
            times=int(body.get("times") or 1),
            status=int(status) if status else None,
            code=str(code) if code else None,
        )
        return 200, {"queued": True}


def _template_code(template: dict) -> str | None:
    """The code in an authentication template: the body's one text parameter, repeated in the URL button."""
    body_code = button_code = None
    for component in template.get("components") or []:
        if not isinstance(component, dict):
            continue
        parameters = component.get("parameters") or []
        texts = [p.get("text") for p in parameters if isinstance(p, dict) and p.get("type") == "text"]
        if component.get("type") == "body" and len(texts) == 1:
            body_code = texts[0]
        if component.get("type") == "button" and component.get("sub_type") == "url" and len(texts) == 1:
            button_code = texts[0]
    if body_code and body_code == button_code:
        return str(body_code)
    return None
