"""Real HTTP both ways: our API in a live server, the simulator calling its webhook (transaction=True)."""

import io
import json
import logging
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import issue_access_token
from payments.models import Payment, PaymentStatus, WebhookEvent
from rooms import seed as rooms_seed
from subscriptions.models import Subscription
from subscriptions.selectors import subscription_get_active, user_entitlements

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_new_user_buys_premium_monthly_end_to_end(live_simulator, plans, make_auth_client):
    rooms_seed.run(stdout=io.StringIO(), demo_accounts=False)
    user = UserFactory()
    client = make_auth_client(user)

    assert client.get("/api/v1/subscriptions/active").status_code == 404
    locked = client.post("/api/v1/themed-rooms/sessions", {"themeId": "green-tea"}, format="json")
    assert locked.status_code == 402

    created = client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json")
    assert created.status_code == 201
    payment = created.json()["data"]
    checkout = requests.get(payment["redirectUrl"], timeout=10)
    assert checkout.status_code == 200
    assert "Pay" in checkout.text
    assert "Fail" in checkout.text
    assert "299.00" in checkout.text

    # The checkout is paid; the simulator sends its signed callback to our live webhook.
    result = live_simulator.complete(payment["transactionId"], "COMPLETED")
    assert result["webhook"] == {"delivered": True, "status": 200}

    stored = Payment.objects.get(pk=payment["id"])
    assert stored.status == PaymentStatus.SUCCESS
    subscription = subscription_get_active(now=timezone.now(), user=user)
    assert subscription.plan.code == "premium_monthly"
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    assert "premium_themed_rooms" in user_entitlements(now=timezone.now(), user=user)

    detail = client.get(f"/api/v1/payments/{payment['transactionId']}").json()["data"]
    assert detail["status"] == "success"
    assert detail["subscription"]["id"] == str(subscription.pk)
    current = client.get("/api/v1/subscriptions/current").json()
    assert current["subscription"]["status"] == "active"
    assert "premium_themed_rooms" in current["subscription"]["features"]

    session = client.post("/api/v1/themed-rooms/sessions", {"themeId": "green-tea"}, format="json")
    assert session.status_code == 201


def test_checkout_page_buttons_settle_the_order_and_return_to_the_merchant(live_simulator, plans, make_auth_client):
    user = UserFactory()
    client = make_auth_client(user)
    payment = client.post("/api/v1/payments/create", {"planId": "track_single"}, format="json").json()["data"]
    order = live_simulator.order(payment["transactionId"])

    pressed = requests.post(payment["redirectUrl"], data={"action": "fail"}, allow_redirects=False, timeout=15)
    assert pressed.status_code == 302
    assert pressed.headers["Location"] == order.redirect_url  # unchanged, no status in it
    assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.FAILED
    assert Subscription.objects.count() == 0


def test_twenty_concurrent_copies_of_the_callback_grant_exactly_one_period(live_simulator, live_server, plans):
    user = UserFactory()
    token = issue_access_token(user=user)
    created = requests.post(
        f"{live_server.url}/api/v1/payments/create",
        json={"planId": "premium_monthly"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert created.status_code == 201
    merchant_order_id = created.json()["data"]["transactionId"]
    live_simulator.server.callback_url = None  # settle without delivering; we deliver the copies
    live_simulator.complete(merchant_order_id, "COMPLETED")
    body = json.dumps(live_simulator.order_callback_body(merchant_order_id, "COMPLETED"))
    from django.conf import settings

    from payments.phonepe.callback import callback_authorization

    headers = {
        "Content-Type": "application/json",
        "Authorization": callback_authorization(settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD),
    }
    barrier = threading.Barrier(20)
    statuses = []
    lock = threading.Lock()

    def deliver():
        barrier.wait()
        response = requests.post(f"{live_server.url}/api/v1/payments/webhook", data=body, headers=headers, timeout=30)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 20
    assert WebhookEvent.objects.count() == 1
    assert Subscription.objects.filter(user=user).count() == 1
    subscription = Subscription.objects.get(user=user)
    assert subscription.status == "active"
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    assert Payment.objects.get().status == PaymentStatus.SUCCESS
    assert AuditLog.objects.filter(action="payment.state_change").count() == 1


def test_concurrent_requests_with_one_idempotency_key_create_one_payment(live_simulator, live_server, plans):
    user = UserFactory()
    headers = {"Authorization": f"Bearer {issue_access_token(user=user)}", "Idempotency-Key": "double-click-1"}
    barrier = threading.Barrier(8)
    answers = []
    lock = threading.Lock()

    def create():
        barrier.wait()
        response = requests.post(
            f"{live_server.url}/api/v1/payments/create", json={"planId": "premium_monthly"}, headers=headers, timeout=30
        )
        with lock:
            answers.append((response.status_code, response.json()["data"]["id"]))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Payment.objects.count() == 1
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert {payment_id for _, payment_id in answers} == {str(Payment.objects.get().pk)}
    assert len(live_simulator.server.state.orders) == 1


def test_no_secret_token_or_payer_detail_in_any_log_line(live_simulator, plans, make_auth_client, caplog, settings):
    from manas360.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    admin = make_auth_client(UserFactory(role="admin", is_staff=True), mfa_verified=True)
    user = UserFactory()
    client = make_auth_client(user)
    payment = client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json").json()["data"]
    live_simulator.complete(payment["transactionId"], "COMPLETED")
    client.get(f"/api/v1/payments/{payment['transactionId']}")
    refund = admin.post(f"/api/v1/admin/payments/{payment['id']}/refund", {}, format="json")
    assert refund.status_code == 202
    live_simulator.finish_refund(refund.json()["data"]["refund"]["merchantRefundId"])
    assert Payment.objects.get().status == PaymentStatus.REFUNDED

    state = live_simulator.server.state
    attempt = state.orders[payment["transactionId"]].payment_details[0]
    from payments.phonepe.callback import callback_authorization

    forbidden = [
        settings.PHONEPE_CLIENT_SECRET,
        settings.PHONEPE_WEBHOOK_PASSWORD,
        callback_authorization(settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD),
        client._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1],
        attempt["rail"]["vpa"],
        attempt["rail"]["utr"],
        attempt["rail"]["upiTransactionId"],
        attempt["instrument"]["maskedAccountNumber"],
        *state.tokens.keys(),
    ]
    assert len(state.tokens) >= 1
    formatter = JsonFormatter()
    lines = [formatter.format(record) + repr(record.__dict__) for record in caplog.records]
    assert len(lines) > 10
    for line in lines:
        for secret in forbidden:
            assert secret not in line
