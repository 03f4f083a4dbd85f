"""The simulator process: an HTTP server on loopback that also sends PhonePe's signed callbacks."""

import json
import threading
from http.server import ThreadingHTTPServer
from typing import Any

import requests

from payments.phonepe.callback import callback_authorization
from payments.phonepe.simulator.handler import SimulatorHandler
from payments.phonepe.simulator.orders import callback_body
from payments.phonepe.simulator.state import SimOrder, SimRefund, SimulatorState


class PhonePeSimulator(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, host: str, port: int, callback_url: str | None, **config):
        super().__init__((host, port), SimulatorHandler)
        self.callback_url = callback_url
        self.state = SimulatorState(**config)
        self.public_url = f"http://{host}:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------
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

    def checkout_url(self, order: SimOrder) -> str:
        return f"{self.public_url}/simulator/checkout/{order.order_id}"

    # --- callbacks ------------------------------------------------------------------
    def send_callback(self, body: dict, *, authorization: str | None = None) -> dict:
        """POST one callback as PhonePe signs it; `callback_repeat` > 1 delivers it again (duplicates)."""
        if not self.callback_url:
            return {"delivered": False, "reason": "no callback URL configured"}
        config = self.state.config
        header = authorization or callback_authorization(config["webhook_username"], config["webhook_password"])
        result: dict = {}
        for _ in range(max(int(config.get("callback_repeat", 1)), 1)):
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
            result = {"delivered": record["status"] is not None, "status": record["status"]}
        return result

    def send_callbacks(self, bodies: list[dict]) -> list[dict]:
        """Send in order (never while holding the state lock: our webhook calls back into the simulator)."""
        return [self.send_callback(body) for body in bodies] or [{"delivered": False, "reason": "nothing to send"}]

    # --- refunds ------------------------------------------------------------------
    def refund_view(self, refund: SimRefund) -> dict:
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
            refund.timestamp_ms = self.state.now_ms()
            if state == "FAILED":
                order = self.state.orders.get(refund.original_merchant_order_id)
                if order is not None:
                    order.refunded_total -= refund.amount
            event = "pg.refund.completed" if state == "COMPLETED" else "pg.refund.failed"
            payload = {key: value for key, value in self.refund_view(refund).items() if key not in ("paymentDetails",)}
        delivery = self.send_callback(callback_body(event, payload))
        return 200, {"merchantRefundId": merchant_refund_id, "state": state, "webhook": delivery}


def start_simulator(
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    callback_url: str | None = None,
    client_id: str = "SIMULATOR_CLIENT",
    client_secret: str = "simulator-secret-not-for-production",  # noqa: S107 - local simulator only
    client_version: str = "1",
    webhook_username: str = "manas360_sim",
    webhook_password: str = "simulator123",  # noqa: S107 - local simulator only
    token_ttl_seconds: int = 3600,
    refund_auto_complete_seconds: float | None = None,
    merchant_id: str = "M360SIMULATOR",
    duplicate_order_status: int = 409,
    callback_timeout_seconds: float = 10.0,
    callback_repeat: int = 1,
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
        callback_repeat=callback_repeat,
    )
    return server.start_in_thread()
