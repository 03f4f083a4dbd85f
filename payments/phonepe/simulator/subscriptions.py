"""Subscriptions v2 (UPI Autopay) endpoints and their controls.

Gateway side: `POST /subscriptions/v2/setup` (the API/intent flow the official
`SubscriptionClient` drives), `GET /subscriptions/v2/{id}/status`, `POST
/subscriptions/v2/notify` and `/checkout/v2/subscriptions/notify`, `POST
/subscriptions/v2/redeem`, `GET /subscriptions/v2/order/{id}/status`, `GET
/subscriptions/v2/transaction/{id}/status`, `POST /subscriptions/v2/{id}/cancel`.

Controls (simulator only): pause, unpause, revoke (as a user does from a UPI app) and
expire a subscription; make its next N debits fail; send any subscription callback; read
or move the clock (moving it runs what falls due: auto-debits, lapsed notifications, expiry).
"""

from payments.phonepe.simulator import mandates
from payments.phonepe.simulator.checkout import order_problems
from payments.phonepe.simulator.http import Route, SimulatorHTTP
from payments.phonepe.simulator.orders import order_status
from payments.phonepe.simulator.state import FLOW_API_SETUP, SETUP_ORDER_DEFAULT_VALIDITY_MS, as_dict

SUBSCRIPTION = r"/simulator/subscriptions/([^/]+)"


class SubscriptionRoutes(SimulatorHTTP):
    ROUTES: list[Route] = [
        ("POST", r"/subscriptions/v2/setup", "_setup"),
        ("POST", r"/subscriptions/v2/notify", "_notify"),
        ("POST", r"/checkout/v2/subscriptions/notify", "_notify"),
        ("POST", r"/subscriptions/v2/redeem", "_redeem"),
        ("GET", r"/subscriptions/v2/order/([^/]+)/status", "_subscription_order_status"),
        ("GET", r"/subscriptions/v2/transaction/([^/]+)/status", "_transaction_status"),
        ("GET", r"/subscriptions/v2/([^/]+)/status", "_subscription_status"),
        ("POST", r"/subscriptions/v2/([^/]+)/cancel", "_cancel"),
        ("POST", SUBSCRIPTION + r"/(pause|unpause|revoke|expire)", "_control_change"),
        ("POST", SUBSCRIPTION + r"/fail-next-debit", "_control_fail_next"),
        ("POST", SUBSCRIPTION + r"/callback", "_control_subscription_callback"),
        ("GET", r"/simulator/clock", "_clock"),
        ("POST", r"/simulator/clock", "_clock_advance"),
    ]

    def _setup(self, *, query):
        if not self._guarded("subscription_setup"):
            return None
        body = self._json_body()
        flow = as_dict(body.get("paymentFlow"))
        problems = order_problems(body)
        if flow.get("type") != FLOW_API_SETUP:
            problems.append("paymentFlow.type must be SUBSCRIPTION_SETUP")
        mode = as_dict(flow.get("paymentMode"))
        if mode.get("type") not in ("UPI_INTENT", "UPI_COLLECT"):
            problems.append("paymentFlow.paymentMode.type must be UPI_INTENT or UPI_COLLECT")
        with self.state.lock:
            now = self.state.now_ms()
            problems += mandates.subscription_problems(self.state, flow, setup_amount=body.get("amount"))
            if problem := mandates.future_ms_problem(body.get("expireAt"), "expireAt (order)", now):
                problems.append(problem)
            if problems:
                return self._send_json(400, {"code": "BAD_REQUEST", "message": "; ".join(problems), "data": {}})
            # The setup order's own expireAt is optional too: PhonePe gives the user 10 minutes to approve.
            expire_at = body.get("expireAt")
            lifetime = expire_at - now if isinstance(expire_at, int) else SETUP_ORDER_DEFAULT_VALIDITY_MS
            order, error = self._create_order(body, flow, expire_after_ms=lifetime)
            if error:
                return self._answer(error)
            mandates.subscription_create(self.state, flow, setup_order_id=order.merchant_order_id)
        checkout_url = self.sim.checkout_url(order)
        return self._send_json(
            200,
            {
                "orderId": order.order_id,
                "state": "PENDING",
                "expireAt": order.expire_at_ms,
                "redirectUrl": checkout_url if mode.get("type") == "UPI_COLLECT" else None,
                "intentUrl": f"upi://mandate?tr={order.order_id}&am={order.amount / 100:.2f}",
                "qrData": None,
            },
        )

    def _subscription_status(self, merchant_subscription_id: str, *, query):
        if not self._guarded("subscription_status"):
            return None
        with self.state.lock:
            subscription = self.state.subscriptions.get(merchant_subscription_id)
            if subscription is None:
                return self._error(404, "SUBSCRIPTION_NOT_FOUND", "No such subscription")
            return self._send_json(200, mandates.subscription_view(self.state, subscription))

    def _notify(self, *, query):
        if not self._guarded("notify"):
            return None
        with self.state.lock:
            status, answer, callbacks = mandates.notify(self.state, self._json_body())
        self.sim.send_callbacks(callbacks)
        return self._send_json(status, answer)

    def _redeem(self, *, query):
        if not self._guarded("redeem"):
            return None
        with self.state.lock:
            status, answer, callbacks = mandates.redeem(self.state, self._json_body().get("merchantOrderId"))
        self.sim.send_callbacks(callbacks)
        return self._send_json(status, answer)

    def _subscription_order_status(self, merchant_order_id: str, *, query):
        if not self._guarded("subscription_order_status"):
            return None
        with self.state.lock:
            return self._answer(order_status(self.state, merchant_order_id, query=query))

    def _cancel(self, merchant_subscription_id: str, *, query):
        """Answers an empty 200, as PhonePe does; the state change shows in status and the callback."""
        if not self._guarded("subscription_cancel"):
            return None
        with self.state.lock:
            subscription = self.state.subscriptions.get(merchant_subscription_id)
            if subscription is None:
                return self._error(404, "SUBSCRIPTION_NOT_FOUND", "No such subscription")
            status, answer, callbacks = mandates.subscription_change(self.state, subscription, "cancel")
        if status != 200:
            return self._send_json(400, {"code": "INVALID_SUBSCRIPTION_STATE", "message": answer["message"]})
        self.sim.send_callbacks(callbacks)
        return self._send_empty(200)

    # --- controls -----------------------------------------------------------------
    def _control_change(self, merchant_subscription_id: str, action: str, *, query):
        with self.state.lock:
            subscription = self.state.subscriptions.get(merchant_subscription_id)
            if subscription is None:
                return self._error(404, "SUBSCRIPTION_NOT_FOUND", "No such subscription")
            status, answer, callbacks = mandates.subscription_change(self.state, subscription, action)
        deliveries = self.sim.send_callbacks(callbacks)
        return self._send_json(status, {**answer, "webhooks": deliveries})

    def _control_fail_next(self, merchant_subscription_id: str, *, query):
        count = self._json_body().get("count", 1)
        with self.state.lock:
            subscription = self.state.subscriptions.get(merchant_subscription_id)
            if subscription is None:
                return self._error(404, "SUBSCRIPTION_NOT_FOUND", "No such subscription")
            subscription.failing_debits = max(int(count) if isinstance(count, int) else 1, 0)
            return self._send_json(200, {"failingDebits": subscription.failing_debits})

    def _control_subscription_callback(self, merchant_subscription_id: str, *, query):
        """Send a subscription callback (any event, any claimed state) without changing anything."""
        body = self._json_body()
        with self.state.lock:
            subscription = self.state.subscriptions.get(merchant_subscription_id)
            if subscription is None:
                return self._error(404, "SUBSCRIPTION_NOT_FOUND", "No such subscription")
            callback = mandates.subscription_event(self.state, subscription, str(body.get("event") or ""))
            if body.get("state"):
                callback["payload"]["state"] = str(body["state"])
        delivery = self.sim.send_callback(callback, authorization=body.get("authorization"))
        return self._send_json(200, {"webhook": delivery})

    def _clock(self, *, query):
        return self._send_json(200, {"nowMs": self.state.now_ms(), "offsetMs": self.state.clock_offset_ms})

    def _clock_advance(self, *, query):
        seconds = self._json_body().get("advanceSeconds", 0)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            return self._error(400, "BAD_REQUEST", "advanceSeconds must be a number >= 0")
        with self.state.lock:
            now = self.state.advance(seconds)
            callbacks = mandates.run_due(self.state)
        deliveries = self.sim.send_callbacks(callbacks)
        return self._send_json(200, {"nowMs": now, "webhooks": deliveries})
