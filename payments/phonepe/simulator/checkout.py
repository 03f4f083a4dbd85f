"""Standard Checkout: `POST /checkout/v2/pay` (one-off orders and Autopay setups), order and
attempt status, the hosted checkout page and the controls that settle or re-send an order.
"""

from django.template.loader import render_to_string

from payments.phonepe.simulator import mandates
from payments.phonepe.simulator.http import Route, SimulatorHTTP
from payments.phonepe.simulator.orders import expire_if_due, order_callback, order_status, order_view, record_attempt
from payments.phonepe.simulator.state import (
    CHECKOUT_ORDER_DEFAULT_SECONDS,
    FLOW_CHECKOUT_SETUP,
    FLOW_PG,
    MERCHANT_ID_PATTERN,
    REDEMPTION_FLOWS,
    SETUP_FLOWS,
    SimOrder,
    as_dict,
    gateway_id,
)


def order_problems(body: dict) -> list[str]:
    """Validation shared by `/checkout/v2/pay` and `/subscriptions/v2/setup`."""
    problems = []
    merchant_order_id = body.get("merchantOrderId")
    amount = body.get("amount")
    if not isinstance(merchant_order_id, str) or not MERCHANT_ID_PATTERN.match(merchant_order_id):
        problems.append("merchantOrderId must be 1-63 characters of [A-Za-z0-9_-]")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
        problems.append("amount must be an integer >= 100 (paise)")
    meta_info = body.get("metaInfo")
    if isinstance(meta_info, dict):
        for key, value in meta_info.items():
            limit = 50 if key in {f"udf{n}" for n in range(11, 16)} else 256
            if value is not None and len(str(value)) > limit:
                problems.append(f"metaInfo.{key} too long")
    return problems


class CheckoutRoutes(SimulatorHTTP):
    ROUTES: list[Route] = [
        ("POST", r"/checkout/v2/pay", "_pay"),
        ("GET", r"/checkout/v2/order/([^/]+)/status", "_order_status"),
        ("GET", r"/checkout/v2/transaction/([^/]+)/status", "_transaction_status"),
        ("GET", r"/simulator/checkout/([^/]+)", "_checkout_page"),
        ("POST", r"/simulator/checkout/([^/]+)", "_checkout_action"),
        ("POST", r"/simulator/orders/([^/]+)/complete", "_control_complete"),
        ("POST", r"/simulator/orders/([^/]+)/callback", "_control_callback"),
    ]

    def _pay(self, *, query):
        if not self._guarded("pay"):
            return None
        body = self._json_body()
        flow = as_dict(body.get("paymentFlow"))
        expire_after = body.get("expireAfter")
        problems = order_problems(body)
        if expire_after is not None and (not isinstance(expire_after, int) or not 300 <= expire_after <= 3600):
            problems.append("expireAfter must be 300-3600")
        flow_type = flow.get("type")
        details = flow.get("subscriptionDetails") if isinstance(flow.get("subscriptionDetails"), dict) else None
        if flow_type not in (FLOW_PG, FLOW_CHECKOUT_SETUP):
            problems.append("paymentFlow.type must be PG_CHECKOUT or SUBSCRIPTION_CHECKOUT_SETUP")
        with self.state.lock:
            if flow_type == FLOW_CHECKOUT_SETUP:
                if details is None:
                    problems.append("paymentFlow.subscriptionDetails is required for SUBSCRIPTION_CHECKOUT_SETUP")
                else:
                    problems += mandates.subscription_problems(self.state, details, setup_amount=body.get("amount"))
            if problems:
                return self._send_json(400, {"code": "BAD_REQUEST", "message": "; ".join(problems), "data": {}})
            lifetime_ms = 1000 * (expire_after or CHECKOUT_ORDER_DEFAULT_SECONDS)
            order, error = self._create_order(body, flow, expire_after_ms=lifetime_ms)
            if error:
                return self._answer(error)
            if flow_type == FLOW_CHECKOUT_SETUP:
                mandates.subscription_create(self.state, details, setup_order_id=order.merchant_order_id)
        return self._send_json(
            200,
            {
                "orderId": order.order_id,
                "state": "PENDING",
                "expireAt": order.expire_at_ms,
                "redirectUrl": self.sim.checkout_url(order),
            },
        )

    def _create_order(self, body: dict, flow: dict, *, expire_after_ms: int) -> tuple[SimOrder, tuple | None]:
        """A new PENDING order (caller holds the lock); a used merchantOrderId is an error."""
        merchant_order_id = body["merchantOrderId"]
        if merchant_order_id in self.state.orders:
            conflict = {"code": "DUPLICATE_ORDER", "message": "merchantOrderId already used", "data": {}}
            return None, (self.state.config["duplicate_order_status"], conflict)  # type: ignore[return-value]
        details = as_dict(flow.get("subscriptionDetails")) or flow  # checkout setup nests them; API setup does not
        meta_info = body.get("metaInfo")
        order = SimOrder(
            merchant_order_id=merchant_order_id,
            order_id=gateway_id("OMO"),
            amount=body["amount"],
            expire_at_ms=self.state.now_ms() + expire_after_ms,
            redirect_url=str(as_dict(flow.get("merchantUrls")).get("redirectUrl") or ""),
            meta_info=meta_info if isinstance(meta_info, dict) else None,
            flow_type=str(flow.get("type")),
            merchant_subscription_id=str(details.get("merchantSubscriptionId") or "")
            if flow.get("type") in SETUP_FLOWS
            else "",
        )
        self.state.add_order(order)
        return order, None

    def _order_status(self, merchant_order_id: str, *, query):
        if not self._guarded("order_status"):
            return None
        with self.state.lock:
            return self._answer(order_status(self.state, merchant_order_id, query=query))

    def _transaction_status(self, transaction_id: str, *, query):
        if not self._guarded("order_status"):
            return None
        with self.state.lock:
            order = self.state.order_by_transaction(transaction_id)
            if order is not None:
                return self._send_json(200, order_view(self.state, order))
        return self._error(404, "TRANSACTION_NOT_FOUND", "No such transaction")

    # --- settling ---------------------------------------------------------------
    def _complete(self, merchant_order_id: str, outcome: str, amount: int | None) -> tuple[int, dict]:
        """What the Pay/Fail buttons do: settle the order and send its callbacks."""
        outcome = outcome.upper()
        if outcome not in ("COMPLETED", "FAILED"):
            return 400, {"code": "BAD_REQUEST", "message": "state must be COMPLETED or FAILED"}
        with self.state.lock:
            order = self.state.orders.get(merchant_order_id)
            if order is None:
                return 404, {"code": "ORDER_NOT_FOUND", "message": "No such order"}
            expire_if_due(self.state, order)
            if order.state != "PENDING" or order.flow_type in REDEMPTION_FLOWS:
                return 409, {"code": "ORDER_NOT_PENDING", "message": f"Order is {order.state}"}
            if order.flow_type in SETUP_FLOWS:
                callbacks = mandates.setup_settle(self.state, order, outcome, amount)
            else:
                record_attempt(self.state, order, outcome, amount)
                event = "checkout.order.completed" if outcome == "COMPLETED" else "checkout.order.failed"
                callbacks = [order_callback(self.state, order, event=event, claimed_state=outcome)]
        deliveries = self.sim.send_callbacks(callbacks)
        return 200, {"merchantOrderId": merchant_order_id, "state": outcome, "webhook": deliveries[0]}

    def _checkout_page(self, gateway_order_id: str, *, query):
        with self.state.lock:
            order = self.state.orders.get(self.state.orders_by_gateway_id.get(gateway_order_id) or "")
            if order is not None:
                expire_if_due(self.state, order)
            subscription = self.state.subscription_of(order) if order is not None else None
        if order is None:
            return self._send_html(404, "<h1>Unknown order</h1>")
        html = render_to_string(
            "phonepe_simulator/checkout.html",
            {
                "order": order,
                "subscription": subscription,
                "amount_rupees": f"{order.amount / 100:.2f}",
                "max_amount_rupees": f"{subscription.max_amount / 100:.2f}" if subscription else "",
                "action_url": f"/simulator/checkout/{order.order_id}",
                "is_pending": order.state == "PENDING",
            },
        )
        return self._send_html(200, html)

    def _checkout_action(self, gateway_order_id: str, *, query):
        action = self._form_body().get("action", "")
        with self.state.lock:
            order = self.state.orders.get(self.state.orders_by_gateway_id.get(gateway_order_id) or "")
        if order is None:
            return self._send_html(404, "<h1>Unknown order</h1>")
        if action in ("pay", "fail", "cancel"):
            self._complete(order.merchant_order_id, "COMPLETED" if action == "pay" else "FAILED", None)
        # The browser returns to the merchant's URL unchanged, with no status in it.
        return self._redirect(order.redirect_url or "/")

    def _control_complete(self, merchant_order_id: str, *, query):
        body = self._json_body()
        amount = body.get("amount")
        return self._answer(
            self._complete(
                merchant_order_id, str(body.get("state", "COMPLETED")), amount if isinstance(amount, int) else None
            )
        )

    def _control_callback(self, merchant_order_id: str, *, query):
        """Send a callback whose body says what the test likes, without changing the order."""
        body = self._json_body()
        with self.state.lock:
            order = self.state.orders.get(merchant_order_id)
            if order is None:
                order = SimOrder(merchant_order_id, gateway_id("OMO"), 100, self.state.now_ms(), "", None)
            claimed = str(body.get("state") or order.state).upper()
            default_event = "checkout.order.failed" if claimed == "FAILED" else "checkout.order.completed"
            event = str(body.get("event") or default_event)
            callback = order_callback(self.state, order, event=event, claimed_state=claimed, amount=body.get("amount"))
        if isinstance(body.get("extra"), dict):
            callback.update(body["extra"])
        delivery = self.sim.send_callback(callback, authorization=body.get("authorization"))
        return self._send_json(200, {"webhook": delivery})
