"""Refunds: `POST /payments/v2/refund`, `GET /payments/v2/refund/{id}/status`, and the control that finishes one."""

import threading

from payments.phonepe.simulator.http import Route, SimulatorHTTP
from payments.phonepe.simulator.state import MERCHANT_ID_PATTERN, SimRefund, gateway_id


class RefundRoutes(SimulatorHTTP):
    ROUTES: list[Route] = [
        ("POST", r"/payments/v2/refund", "_refund"),
        ("GET", r"/payments/v2/refund/([^/]+)/status", "_refund_status"),
        ("POST", r"/simulator/refunds/([^/]+)/complete", "_control_refund"),
    ]

    def _refund(self, *, query):
        if not self._guarded("refund"):
            return None
        body = self._json_body()
        merchant_refund_id = body.get("merchantRefundId")
        original = body.get("originalMerchantOrderId")
        amount = body.get("amount")
        with self.state.lock:
            order = self.state.orders.get(str(original))
            if not isinstance(merchant_refund_id, str) or not MERCHANT_ID_PATTERN.match(merchant_refund_id):
                return self._error(400, "BAD_REQUEST", "merchantRefundId must be 1-63 characters of [A-Za-z0-9_-]")
            if merchant_refund_id in self.state.refunds:
                return self._error(409, "DUPLICATE_REFUND", "merchantRefundId already used")
            if order is None or order.state != "COMPLETED":
                return self._error(400, "INVALID_ORDER", "The original order is not COMPLETED")
            if not isinstance(amount, int) or amount < 100 or order.refunded_total + amount > order.amount:
                return self._error(400, "EXCESS_REFUND_AMOUNT", "Refund amount is invalid or exceeds the order")
            order.refunded_total += amount
            refund = SimRefund(
                merchant_refund_id, gateway_id("OMR"), order.merchant_order_id, amount, self.state.now_ms()
            )
            self.state.refunds[merchant_refund_id] = refund
        delay = self.state.config.get("refund_auto_complete_seconds")
        if delay is not None:
            timer = threading.Timer(delay, self.sim.finish_refund, args=(merchant_refund_id, "COMPLETED"))
            timer.daemon = True
            timer.start()
        return self._send_json(200, {"refundId": refund.refund_id, "amount": amount, "state": "PENDING"})

    def _refund_status(self, merchant_refund_id: str, *, query):
        if not self._guarded("refund_status"):
            return None
        with self.state.lock:
            refund = self.state.refunds.get(merchant_refund_id)
            if refund is None:
                return self._error(404, "REFUND_NOT_FOUND", "No such refund")
            return self._send_json(200, self.sim.refund_view(refund))

    def _control_refund(self, merchant_refund_id: str, *, query):
        body = self._json_body()
        return self._answer(self.sim.finish_refund(merchant_refund_id, str(body.get("state", "COMPLETED"))))
