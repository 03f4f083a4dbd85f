"""A local PhonePe Standard Checkout v2 simulator (docs/phonepe.md §12).

Speaks the same endpoints, token flow and callback signing as PhonePe, on its own
port, over plain HTTP on loopback:

* both URL layouts: `/apis/pg-sandbox/...` and `/apis/identity-manager/v1/oauth/token` + `/apis/pg/...`;
* `POST /v1/oauth/token` (form-encoded client credentials; tokens with a configurable lifetime);
* `POST /checkout/v2/pay`, `GET /checkout/v2/order/{id}/status`, `GET /checkout/v2/transaction/{id}/status`;
* `POST /payments/v2/refund`, `GET /payments/v2/refund/{id}/status`;
* a hosted checkout page (`templates/phonepe_simulator/checkout.html`) with Pay, Fail and Cancel;
* signed callbacks: `Authorization: sha256_hex("username:password")`, body `{event, type, payload}`.

Control endpoints for tests and demos (simulator only):

* `POST /simulator/orders/<merchantOrderId>/complete` `{"state": "COMPLETED"|"FAILED", "amount"?}`: exactly
  what the Pay/Fail buttons do (set the state, record an attempt, send the callback). `amount` makes the
  gateway record a different amount than was ordered (to test our amount check).
* `POST /simulator/orders/<merchantOrderId>/callback` `{"event"?, "state"?, "amount"?, "authorization"?}`:
  send a callback whose body says what you like, without changing the order (replays, lies, forgeries).
* `POST /simulator/refunds/<merchantRefundId>/complete` `{"state": "COMPLETED"|"FAILED"}`.
* `POST /simulator/faults` `{"operation": "token|pay|order_status|refund|refund_status", "status": 503, "count": 1}`.
* `POST /simulator/tokens/revoke`, `POST /simulator/reset`, `GET /simulator/webhooks`, `GET /simulator/requests`.

Start it with `manage.py phonepe_simulator` or, from tests, `start_simulator(...)`.
"""

import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.template.loader import render_to_string

from payments.phonepe.callback import callback_authorization

logger = logging.getLogger("manas360.payments.simulator")

DEFAULT_CLIENT_ID = "SIMULATOR_CLIENT"
DEFAULT_CLIENT_SECRET = "simulator-secret-not-for-production"  # noqa: S105 - local simulator only
DEFAULT_CLIENT_VERSION = "1"
DEFAULT_WEBHOOK_USERNAME = "manas360_sim"
DEFAULT_WEBHOOK_PASSWORD = "simulator123"  # noqa: S105 - local simulator only
MERCHANT_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
PREFIXES = ("/apis/pg-sandbox", "/apis/identity-manager", "/apis/pg")

EVENT_TYPES = {
    "checkout.order.completed": "CHECKOUT_ORDER_COMPLETED",
    "checkout.order.failed": "CHECKOUT_ORDER_FAILED",
    "checkout.transaction.attempt.failed": "CHECKOUT_TRANSACTION_ATTEMPT_FAILED",
    "pg.refund.accepted": "PG_REFUND_ACCEPTED",
    "pg.refund.completed": "PG_REFUND_COMPLETED",
    "pg.refund.failed": "PG_REFUND_FAILED",
}


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SimOrder:
    merchant_order_id: str
    order_id: str
    amount: int
    expire_at_ms: int
    redirect_url: str
    meta_info: dict | None
    state: str = "PENDING"
    recorded_amount: int | None = None  # what the gateway "captured" (differs only when a test says so)
    payment_details: list = field(default_factory=list)
    refunded_total: int = 0


@dataclass
class SimRefund:
    merchant_refund_id: str
    refund_id: str
    original_merchant_order_id: str
    amount: int
    state: str = "PENDING"
    timestamp_ms: int = field(default_factory=_now_ms)


class SimulatorState:
    def __init__(self, **config):
        self.lock = threading.RLock()
        self.config = config
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, int] = {}
            self.orders: dict[str, SimOrder] = {}
            self.orders_by_gateway_id: dict[str, str] = {}
            self.refunds: dict[str, SimRefund] = {}
            self.webhooks: list[dict[str, Any]] = []
            self.requests: list[dict[str, str]] = []
            self.faults: dict[str, list[int]] = {}


class SimulatorHandler(BaseHTTPRequestHandler):
    server_version = "PhonePeSimulator/1.0"
    protocol_version = "HTTP/1.1"

    # --- plumbing -------------------------------------------------------------
    @property
    def state(self) -> SimulatorState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):
        logger.debug("simulator %s", format % args)

    def _body(self) -> bytes:
        """The request body, read once (always drained, so a keep-alive connection stays in sync)."""
        if getattr(self, "_raw_body", None) is None:
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

    def _send_json(self, status: int, body: Any, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

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

    def _path(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        path = parts.path
        for prefix in PREFIXES:
            if path.startswith(prefix + "/"):
                path = path[len(prefix) :]
                break
        return path, parse_qs(parts.query)

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
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self.state.lock:
            expires = self.state.tokens.get(token)
        if scheme != "O-Bearer" or expires is None or expires <= time.time():
            self._send_json(401, {"code": "UNAUTHORIZED", "errorCode": "401", "message": "Unauthorized"})
            return False
        return True

    def _record(self, method: str, path: str) -> None:
        with self.state.lock:
            self.state.requests.append({"method": method, "path": path})

    # --- routing --------------------------------------------------------------
    def do_GET(self):
        path, query = self._path()
        self._record("GET", path)
        if match := re.fullmatch(r"/checkout/v2/order/([^/]+)/status", path):
            return self._order_status(match.group(1), query)
        if match := re.fullmatch(r"/checkout/v2/transaction/([^/]+)/status", path):
            return self._transaction_status(match.group(1))
        if match := re.fullmatch(r"/payments/v2/refund/([^/]+)/status", path):
            return self._refund_status(match.group(1))
        if match := re.fullmatch(r"/simulator/checkout/([^/]+)", path):
            return self._checkout_page(match.group(1))
        if path == "/simulator/webhooks":
            with self.state.lock:
                return self._send_json(200, {"webhooks": list(self.state.webhooks)})
        if path == "/simulator/requests":
            with self.state.lock:
                return self._send_json(200, {"requests": list(self.state.requests)})
        if path == "/health":
            return self._send_json(200, {"status": "ok"})
        return self._error(404, "NOT_FOUND", "No such endpoint")

    def do_POST(self):
        self._raw_body = None
        self._body()
        path, _ = self._path()
        self._record("POST", path)
        if path == "/v1/oauth/token":
            return self._token()
        if path == "/checkout/v2/pay":
            return self._pay()
        if path == "/payments/v2/refund":
            return self._refund()
        if match := re.fullmatch(r"/simulator/checkout/([^/]+)", path):
            return self._checkout_action(match.group(1))
        if match := re.fullmatch(r"/simulator/orders/([^/]+)/complete", path):
            return self._control_complete(match.group(1))
        if match := re.fullmatch(r"/simulator/orders/([^/]+)/callback", path):
            return self._control_callback(match.group(1))
        if match := re.fullmatch(r"/simulator/refunds/([^/]+)/complete", path):
            return self._control_refund(match.group(1))
        if path == "/simulator/faults":
            body = self._json_body()
            with self.state.lock:
                queue = self.state.faults.setdefault(str(body.get("operation")), [])
                queue.extend([int(body.get("status", 500))] * int(body.get("count", 1)))
            return self._send_json(200, {"ok": True})
        if path == "/simulator/tokens/revoke":
            with self.state.lock:
                self.state.tokens.clear()
            return self._send_json(200, {"ok": True})
        if path == "/simulator/reset":
            self.state.reset()
            return self._send_json(200, {"ok": True})
        return self._error(404, "NOT_FOUND", "No such endpoint")

    # --- OAuth (docs/phonepe.md §3) ------------------------------------------------
    def _token(self):
        if self._fault("token"):
            return None
        form = {key: values[0] for key, values in parse_qs(self._body().decode(errors="replace")).items()}
        config = self.state.config
        valid = (
            form.get("grant_type") == "client_credentials"
            and secrets.compare_digest(form.get("client_id", ""), config["client_id"])
            and secrets.compare_digest(form.get("client_secret", ""), config["client_secret"])
            and form.get("client_version", "") == str(config["client_version"])
        )
        if not valid:
            return self._send_json(
                400,
                {
                    "code": "INVALID_CLIENT",
                    "errorCode": "OIM000",
                    "message": "Bad Request - Invalid client",
                    "context": {"error_description": "Client Not Found"},
                },
            )
        token = "SIMTOKEN" + secrets.token_hex(16)
        issued_at = int(time.time())
        expires_at = issued_at + int(config["token_ttl_seconds"])
        with self.state.lock:
            self.state.tokens[token] = expires_at
        return self._send_json(
            200,
            {
                "access_token": token,
                "encrypted_access_token": token,
                "expires_in": None,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "session_expires_at": expires_at,
                "token_type": "O-Bearer",
            },
        )

    # --- orders (docs/phonepe.md §4) ---------------------------------------------
    def _pay(self):
        if not self._authorized() or self._fault("pay"):
            return None
        body = self._json_body()
        merchant_order_id = body.get("merchantOrderId")
        amount = body.get("amount")
        expire_after = body.get("expireAfter")
        flow = body.get("paymentFlow") or {}
        problems = []
        if not isinstance(merchant_order_id, str) or not MERCHANT_ORDER_ID.match(merchant_order_id):
            problems.append("merchantOrderId must be 1-63 characters of [A-Za-z0-9_-]")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            problems.append("amount must be an integer >= 100 (paise)")
        if expire_after is not None and (not isinstance(expire_after, int) or not 300 <= expire_after <= 3600):
            problems.append("expireAfter must be 300-3600")
        if flow.get("type") not in ("PG_CHECKOUT", "SUBSCRIPTION_CHECKOUT_SETUP"):
            problems.append("paymentFlow.type must be PG_CHECKOUT")
        meta_info = body.get("metaInfo") or None
        if isinstance(meta_info, dict):
            for key, value in meta_info.items():
                limit = 50 if key in {f"udf{n}" for n in range(11, 16)} else 256
                if value is not None and len(str(value)) > limit:
                    problems.append(f"metaInfo.{key} too long")
        if problems:
            return self._send_json(400, {"code": "BAD_REQUEST", "message": "; ".join(problems), "data": {}})
        redirect_url = ((flow.get("merchantUrls") or {}).get("redirectUrl")) or ""
        with self.state.lock:
            if merchant_order_id in self.state.orders:
                return self._send_json(
                    self.state.config["duplicate_order_status"],
                    {"code": "DUPLICATE_ORDER", "message": "merchantOrderId already used", "data": {}},
                )
            order = SimOrder(
                merchant_order_id=merchant_order_id,
                order_id="OMO" + secrets.token_hex(10).upper(),
                amount=amount,
                expire_at_ms=_now_ms() + 1000 * (expire_after or 1200),
                redirect_url=redirect_url,
                meta_info=meta_info if isinstance(meta_info, dict) else None,
            )
            self.state.orders[merchant_order_id] = order
            self.state.orders_by_gateway_id[order.order_id] = merchant_order_id
        return self._send_json(
            200,
            {
                "orderId": order.order_id,
                "state": "PENDING",
                "expireAt": order.expire_at_ms,
                "redirectUrl": f"{self.server.public_url}/simulator/checkout/{order.order_id}",  # type: ignore[attr-defined]
            },
        )

    def _expire_if_due(self, order: SimOrder) -> None:
        if order.state == "PENDING" and order.expire_at_ms <= _now_ms():
            order.state = "FAILED"

    def _order_view(self, order: SimOrder, *, details: bool = True) -> dict:
        attempts = order.payment_details if details else order.payment_details[-1:]
        amount = order.recorded_amount if order.recorded_amount is not None else order.amount
        return {
            "merchantId": self.state.config["merchant_id"],
            "merchantOrderId": order.merchant_order_id,
            "orderId": order.order_id,
            "state": order.state,
            "amount": amount,
            "payableAmount": amount,
            "feeAmount": 0,
            "expireAt": order.expire_at_ms,
            "errorCode": "PAYMENT_ERROR" if order.state == "FAILED" else None,
            "detailedErrorCode": "TXN_FAILED" if order.state == "FAILED" else None,
            "metaInfo": order.meta_info,
            "paymentDetails": attempts,
            "paymentFlow": {"type": "PG_CHECKOUT"},
        }

    def _order_status(self, merchant_order_id: str, query: dict):
        if not self._authorized() or self._fault("order_status"):
            return None
        details = (query.get("details") or ["false"])[0].lower() == "true"
        with self.state.lock:
            order = self.state.orders.get(merchant_order_id)
            if order is None:
                return self._error(404, "ORDER_NOT_FOUND", "No order with this merchantOrderId")
            self._expire_if_due(order)
            return self._send_json(200, self._order_view(order, details=details))

    def _transaction_status(self, transaction_id: str):
        if not self._authorized():
            return None
        with self.state.lock:
            for order in self.state.orders.values():
                if any(attempt["transactionId"] == transaction_id for attempt in order.payment_details):
                    return self._send_json(200, self._order_view(order))
        return self._error(404, "TRANSACTION_NOT_FOUND", "No such transaction")

    def _settle(self, order: SimOrder, state: str, amount: int | None = None) -> None:
        """Record an attempt and move the order to its terminal state (caller holds the lock)."""
        attempt_amount = amount if amount is not None else order.amount
        order.recorded_amount = amount
        order.state = state
        order.payment_details.append(
            {
                "transactionId": "OM" + secrets.token_hex(10).upper(),
                "paymentMode": "UPI_INTENT",
                "timestamp": _now_ms(),
                "amount": attempt_amount,
                "payableAmount": attempt_amount,
                "feeAmount": 0,
                "state": state,
                "errorCode": "PAYMENT_ERROR" if state == "FAILED" else None,
                "detailedErrorCode": "TXN_FAILED" if state == "FAILED" else None,
                "instrument": {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXXX4321", "ifsc": "SIMB0000001"},
                "rail": {
                    "type": "UPI",
                    "utr": str(secrets.randbelow(10**12)).zfill(12),
                    "upiTransactionId": "SIM" + secrets.token_hex(8).upper(),
                    "vpa": "demo.payer@ybl",
                },
            }
        )

    def _order_callback_body(self, order: SimOrder, *, event: str, state: str, amount: int | None) -> dict:
        payload = self._order_view(order)
        payload["state"] = state
        if amount is not None:
            payload["amount"] = amount
        return {"event": event, "type": EVENT_TYPES.get(event, event.upper().replace(".", "_")), "payload": payload}

    def _complete(self, merchant_order_id: str, state: str, amount: int | None) -> tuple[int, dict]:
        state = state.upper()
        if state not in ("COMPLETED", "FAILED"):
            return 400, {"code": "BAD_REQUEST", "message": "state must be COMPLETED or FAILED"}
        with self.state.lock:
            order = self.state.orders.get(merchant_order_id)
            if order is None:
                return 404, {"code": "ORDER_NOT_FOUND", "message": "No such order"}
            self._expire_if_due(order)
            if order.state != "PENDING":
                return 409, {"code": "ORDER_NOT_PENDING", "message": f"Order is {order.state}"}
            self._settle(order, state, amount)
            event = "checkout.order.completed" if state == "COMPLETED" else "checkout.order.failed"
            body = self._order_callback_body(order, event=event, state=state, amount=None)
        delivery = self.server.send_callback(body)  # type: ignore[attr-defined]
        return 200, {"merchantOrderId": merchant_order_id, "state": state, "webhook": delivery}

    def _checkout_page(self, gateway_order_id: str):
        with self.state.lock:
            merchant_order_id = self.state.orders_by_gateway_id.get(gateway_order_id)
            order = self.state.orders.get(merchant_order_id or "")
            if order is not None:
                self._expire_if_due(order)
        if order is None:
            return self._send_html(404, "<h1>Unknown order</h1>")
        html = render_to_string(
            "phonepe_simulator/checkout.html",
            {
                "order": order,
                "amount_rupees": f"{order.amount / 100:.2f}",
                "action_url": f"/simulator/checkout/{order.order_id}",
                "is_pending": order.state == "PENDING",
            },
        )
        return self._send_html(200, html)

    def _checkout_action(self, gateway_order_id: str):
        form = {key: values[0] for key, values in parse_qs(self._body().decode(errors="replace")).items()}
        action = form.get("action", "")
        with self.state.lock:
            merchant_order_id = self.state.orders_by_gateway_id.get(gateway_order_id)
            order = self.state.orders.get(merchant_order_id or "")
        if order is None:
            return self._send_html(404, "<h1>Unknown order</h1>")
        if action in ("pay", "fail", "cancel"):
            self._complete(order.merchant_order_id, "COMPLETED" if action == "pay" else "FAILED", None)
        # The browser returns to the merchant's URL unchanged, with no status in it (docs/phonepe.md §12).
        return self._redirect(order.redirect_url or "/")

    def _control_complete(self, merchant_order_id: str):
        body = self._json_body()
        amount = body.get("amount")
        status, answer = self._complete(
            merchant_order_id, str(body.get("state", "COMPLETED")), amount if isinstance(amount, int) else None
        )
        return self._send_json(status, answer)

    def _control_callback(self, merchant_order_id: str):
        body = self._json_body()
        with self.state.lock:
            order = self.state.orders.get(merchant_order_id)
            if order is None:
                order = SimOrder(merchant_order_id, "OMO" + secrets.token_hex(10).upper(), 100, _now_ms(), "", None)
            state = str(body.get("state") or order.state).upper()
            default_event = "checkout.order.failed" if state == "FAILED" else "checkout.order.completed"
            event = str(body.get("event") or default_event)
            callback = self._order_callback_body(order, event=event, state=state, amount=body.get("amount"))
        if isinstance(body.get("extra"), dict):
            callback.update(body["extra"])
        delivery = self.server.send_callback(callback, authorization=body.get("authorization"))  # type: ignore[attr-defined]
        return self._send_json(200, {"webhook": delivery})

    # --- refunds (docs/phonepe.md §5) ----------------------------------------------
    def _refund_view(self, refund: SimRefund) -> dict:
        return {
            "merchantId": self.state.config["merchant_id"],
            "merchantRefundId": refund.merchant_refund_id,
            "originalMerchantOrderId": refund.original_merchant_order_id,
            "refundId": refund.refund_id,
            "amount": refund.amount,
            "state": refund.state,
            "timestamp": refund.timestamp_ms,
            "errorCode": "REFUND_FAILED" if refund.state == "FAILED" else None,
            "detailedErrorCode": None,
            "paymentDetails": [],
            "splitInstruments": [],
        }

    def _refund(self):
        if not self._authorized() or self._fault("refund"):
            return None
        body = self._json_body()
        merchant_refund_id = body.get("merchantRefundId")
        original = body.get("originalMerchantOrderId")
        amount = body.get("amount")
        with self.state.lock:
            order = self.state.orders.get(str(original))
            if not isinstance(merchant_refund_id, str) or not MERCHANT_ORDER_ID.match(merchant_refund_id):
                return self._error(400, "BAD_REQUEST", "merchantRefundId must be 1-63 characters of [A-Za-z0-9_-]")
            if merchant_refund_id in self.state.refunds:
                return self._error(409, "DUPLICATE_REFUND", "merchantRefundId already used")
            if order is None or order.state != "COMPLETED":
                return self._error(400, "INVALID_ORDER", "The original order is not COMPLETED")
            if not isinstance(amount, int) or amount < 100 or order.refunded_total + amount > order.amount:
                return self._error(400, "EXCESS_REFUND_AMOUNT", "Refund amount is invalid or exceeds the order")
            order.refunded_total += amount
            refund = SimRefund(
                merchant_refund_id, "OMR" + secrets.token_hex(10).upper(), order.merchant_order_id, amount
            )
            self.state.refunds[merchant_refund_id] = refund
        delay = self.state.config.get("refund_auto_complete_seconds")
        if delay is not None:
            timer = threading.Timer(delay, self.server.finish_refund, args=(merchant_refund_id, "COMPLETED"))  # type: ignore[attr-defined]
            timer.daemon = True
            timer.start()
        return self._send_json(200, {"refundId": refund.refund_id, "amount": amount, "state": "PENDING"})

    def _refund_status(self, merchant_refund_id: str):
        if not self._authorized() or self._fault("refund_status"):
            return None
        with self.state.lock:
            refund = self.state.refunds.get(merchant_refund_id)
            if refund is None:
                return self._error(404, "REFUND_NOT_FOUND", "No such refund")
            return self._send_json(200, self._refund_view(refund))

    def _control_refund(self, merchant_refund_id: str):
        body = self._json_body()
        status, answer = self.server.finish_refund(merchant_refund_id, str(body.get("state", "COMPLETED")))  # type: ignore[attr-defined]
        return self._send_json(status, answer)


class PhonePeSimulator(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, host: str, port: int, callback_url: str | None, **config):
        super().__init__((host, port), SimulatorHandler)
        self.callback_url = callback_url
        self.state = SimulatorState(**config)
        self.public_url = f"http://{host}:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.public_url

    @property
    def pg_base_url(self) -> str:
        """What PHONEPE_PG_BASE_URL / PHONEPE_OAUTH_BASE_URL should be (sandbox layout)."""
        return self.public_url + "/apis/pg-sandbox"

    def start_in_thread(self) -> "PhonePeSimulator":
        self._thread = threading.Thread(target=self.serve_forever, name="phonepe-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- callbacks (docs/phonepe.md §7) --------------------------------------------
    def send_callback(self, body: dict, *, authorization: str | None = None) -> dict:
        if not self.callback_url:
            return {"delivered": False, "reason": "no callback URL configured"}
        config = self.state.config
        header = authorization or callback_authorization(config["webhook_username"], config["webhook_password"])
        record: dict[str, Any] = {"event": body.get("event"), "body": body, "status": None}
        try:
            response = requests.post(
                self.callback_url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json", "Authorization": header},
                timeout=config["callback_timeout_seconds"],
            )
            record["status"] = response.status_code
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
        with self.state.lock:
            self.state.webhooks.append(record)
        return {"delivered": record["status"] is not None, "status": record["status"]}

    def finish_refund(self, merchant_refund_id: str, state: str) -> tuple[int, dict]:
        state = state.upper()
        if state not in ("COMPLETED", "FAILED"):
            return 400, {"code": "BAD_REQUEST", "message": "state must be COMPLETED or FAILED"}
        with self.state.lock:
            refund = self.state.refunds.get(merchant_refund_id)
            if refund is None:
                return 404, {"code": "REFUND_NOT_FOUND", "message": "No such refund"}
            if refund.state in ("COMPLETED", "FAILED"):
                return 409, {"code": "REFUND_FINAL", "message": f"Refund is {refund.state}"}
            refund.state = state
            refund.timestamp_ms = _now_ms()
            if state == "FAILED":
                order = self.state.orders.get(refund.original_merchant_order_id)
                if order is not None:
                    order.refunded_total -= refund.amount
            event = "pg.refund.completed" if state == "COMPLETED" else "pg.refund.failed"
            payload = {
                "merchantId": self.state.config["merchant_id"],
                "originalMerchantOrderId": refund.original_merchant_order_id,
                "refundId": refund.refund_id,
                "merchantRefundId": refund.merchant_refund_id,
                "state": state,
                "amount": refund.amount,
                "timestamp": refund.timestamp_ms,
            }
        delivery = self.send_callback({"event": event, "type": EVENT_TYPES[event], "payload": payload})
        return 200, {"merchantRefundId": merchant_refund_id, "state": state, "webhook": delivery}


def start_simulator(
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    callback_url: str | None = None,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    client_version: str = DEFAULT_CLIENT_VERSION,
    webhook_username: str = DEFAULT_WEBHOOK_USERNAME,
    webhook_password: str = DEFAULT_WEBHOOK_PASSWORD,
    token_ttl_seconds: int = 3600,
    refund_auto_complete_seconds: float | None = None,
    merchant_id: str = "M360SIMULATOR",
    duplicate_order_status: int = 409,
    callback_timeout_seconds: float = 10.0,
) -> PhonePeSimulator:
    """Start a simulator on a background thread and return it; call `.stop()` when done.

    `port=0` picks a free port (read it from `.url`).
    """
    server = PhonePeSimulator(
        host=host,
        port=port,
        callback_url=callback_url,
        client_id=client_id,
        client_secret=client_secret,
        client_version=client_version,
        webhook_username=webhook_username,
        webhook_password=webhook_password,
        token_ttl_seconds=token_ttl_seconds,
        refund_auto_complete_seconds=refund_auto_complete_seconds,
        merchant_id=merchant_id,
        duplicate_order_status=duplicate_order_status,
        callback_timeout_seconds=callback_timeout_seconds,
    )
    return server.start_in_thread()
