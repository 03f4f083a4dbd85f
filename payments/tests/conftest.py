"""Payments tests run against the PhonePe simulator over real HTTP on loopback (docs/contributing.md)."""

import io
import json

import pytest
import requests
from django.utils import timezone

from payments.models import Payment
from payments.phonepe.callback import callback_authorization
from payments.phonepe.client import get_client
from payments.tests.simulator import start_test_simulator
from subscriptions import seed
from subscriptions.models import Plan
from subscriptions.selectors import subscription_get_active

WEBHOOK_PATH = "/api/v1/payments/webhook"


class Sim:
    """The running simulator plus small helpers for its control endpoints."""

    def __init__(self, server):
        self.server = server
        self.url = server.url

    def post(self, path, payload=None):
        return requests.post(self.url + path, json=payload or {}, timeout=15)

    def complete(self, merchant_order_id, state="COMPLETED", **extra):
        response = self.post(f"/simulator/orders/{merchant_order_id}/complete", {"state": state, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def order_for(self, payment, outcome="COMPLETED", *, expire_after_seconds=600):
        """PhonePe's order for a payment row written directly (no checkout), finished as `outcome` (None: open)."""
        get_client().create_order(
            merchant_order_id=payment.merchant_order_id,
            amount_paise=payment.amount_paise,
            redirect_url="http://localhost/done",
            expire_after_seconds=expire_after_seconds,
        )
        if outcome:
            self.complete(payment.merchant_order_id, outcome)

    def send_callback(self, merchant_order_id, **body):
        response = self.post(f"/simulator/orders/{merchant_order_id}/callback", body)
        assert response.status_code == 200, response.text
        return response.json()

    def finish_refund(self, merchant_refund_id, state="COMPLETED"):
        response = self.post(f"/simulator/refunds/{merchant_refund_id}/complete", {"state": state})
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, merchant_order_id):
        return self.server.state.orders.get(merchant_order_id)

    def order_callback_body(self, merchant_order_id, state):
        order = self.order(merchant_order_id)
        event = "checkout.order.completed" if state == "COMPLETED" else "checkout.order.failed"
        return {
            "event": event,
            "type": event.upper().replace(".", "_"),
            "payload": {
                "merchantId": "M360SIMULATOR",
                "orderId": order.order_id,
                "merchantOrderId": merchant_order_id,
                "state": state,
                "amount": order.amount,
                "expireAt": order.expire_at_ms,
                "paymentDetails": [],
            },
        }


@pytest.fixture
def plans(db):
    seed.run(stdout=io.StringIO(), demo_accounts=False)
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture
def simulator(settings):
    """A simulator on a free port; settings point the PhonePe client at it."""
    server = start_test_simulator(settings)
    settings.PHONEPE_PG_BASE_URL = server.pg_base_url
    settings.PHONEPE_OAUTH_BASE_URL = server.pg_base_url
    settings.PHONEPE_MAX_RETRIES = 1
    yield Sim(server)
    server.stop()


@pytest.fixture
def live_simulator(simulator, live_server):
    """The simulator calling back into a live server of this app (needs transaction=True)."""
    simulator.server.callback_url = live_server.url + WEBHOOK_PATH
    return simulator


@pytest.fixture
def webhook_authorization(settings):
    return callback_authorization(settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD)


@pytest.fixture
def post_callback(api_client, webhook_authorization):
    """POST a callback body to our webhook through the test client, signed like PhonePe unless told otherwise."""

    def post(body, *, authorization=None):
        headers = {} if authorization == "" else {"HTTP_AUTHORIZATION": authorization or webhook_authorization}
        return api_client.post(WEBHOOK_PATH, data=json.dumps(body), content_type="application/json", **headers)

    return post


@pytest.fixture
def create_payment():
    def create(client, plan_id="premium_monthly", **extra):
        response = client.post("/api/v1/payments/create", {"planId": plan_id, **extra}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["data"]

    return create


@pytest.fixture
def paid(auth_client, user, plans, simulator, create_payment, post_callback):
    """The signed-in user's premium_monthly, paid: checkout, PhonePe completes it, its callback arrives."""
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    post_callback(simulator.order_callback_body(payment["transactionId"], "COMPLETED"))
    assert subscription_get_active(now=timezone.now(), user=user) is not None
    return Payment.objects.get(pk=payment["id"])
