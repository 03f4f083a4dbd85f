"""Accounts and payments across two instances: revocation, OTP limits and concurrent payment callbacks."""

import io
import json
import random
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from accounts.models import AuditLog
from accounts.sessions import session_start
from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus, WebhookEvent
from payments.phonepe.callback import callback_authorization
from payments.tests.simulator import start_test_simulator
from subscriptions import seed as subscriptions_seed
from subscriptions.models import Subscription

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ME = "/api/v1/users/me"


def _phone() -> str:
    return f"+9198{random.randint(10_000_000, 99_999_999)}"


def test_a_session_revoked_through_one_instance_is_refused_by_the_other(web_servers):
    a, b = web_servers.start(2)
    user = UserFactory()
    tokens = session_start(now=timezone.now(), user=user)
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    assert a.get(ME, headers=bearer).status_code == 200
    assert b.get(ME, headers=bearer).status_code == 200

    assert a.post("/api/v1/auth/logout", headers=bearer, json={}).status_code == 200

    # At once, on the instance that did not see the logout: not at token expiry.
    refused = b.get(ME, headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_revoked"
    assert a.get(ME, headers=bearer).json()["code"] == "session_revoked"
    refresh = b.post("/api/v1/auth/refresh", json={"refreshToken": tokens.refresh_token})
    assert refresh.status_code == 401


def test_otp_limits_reached_through_one_instance_apply_on_the_other(web_servers):
    env = {"RATE_LIMIT_SEND_OTP_IDENTIFIER": "2/h", "OTP_RESEND_COOLDOWN_SECONDS": "0", "TRUSTED_PROXY_COUNT": "1"}
    a, b = web_servers.start(2, env=env)
    phone = _phone()

    def send(server, ip):
        return server.post("/api/v1/auth/send-otp", json={"phoneNumber": phone}, headers={"X-Forwarded-For": ip})

    # Different client addresses, so only the per-identifier limit (shared in Redis) can stop the third send.
    assert send(a, "198.51.100.1").status_code == 200
    assert send(b, "198.51.100.2").status_code == 200
    for server, ip in ((a, "198.51.100.3"), (b, "198.51.100.4")):
        refused = send(server, ip)
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled"
        assert int(refused.headers["Retry-After"]) >= 1


def test_the_resend_cooldown_started_on_one_instance_holds_on_the_other(web_servers):
    a, b = web_servers.start(2)
    phone = _phone()
    assert a.post("/api/v1/auth/send-otp", json={"phoneNumber": phone}).status_code == 200
    too_soon = b.post("/api/v1/auth/send-otp", json={"phoneNumber": phone})
    assert too_soon.status_code == 429
    assert too_soon.json()["code"] == "otp_resend_too_soon"
    assert too_soon.json()["retryAfter"] >= 1


@pytest.fixture
def phonepe(settings):
    """The PhonePe simulator on a free port, with the credentials the servers use (their TESTING defaults)."""
    simulator = start_test_simulator(settings)
    yield simulator
    simulator.stop()


def test_concurrent_payment_callbacks_split_across_instances_grant_one_subscription(web_servers, phonepe, settings):
    subscriptions_seed.run(stdout=io.StringIO(), demo_accounts=False)
    env = {"PHONEPE_PG_BASE_URL": phonepe.pg_base_url, "PHONEPE_OAUTH_BASE_URL": phonepe.pg_base_url}
    a, b = web_servers.start(2, env=env, workers=2, threads=2)
    user = UserFactory()
    bearer = {"Authorization": f"Bearer {session_start(now=timezone.now(), user=user).access_token}"}
    created = a.post("/api/v1/payments/create", json={"planId": "premium_monthly"}, headers=bearer)
    assert created.status_code == 201, created.text
    merchant_order_id = created.json()["data"]["transactionId"]

    # The customer pays; PhonePe's callback is then delivered 20 times at once, half to each instance.
    phonepe.callback_url = None  # settle without delivering: the copies below are the deliveries
    settled = requests.post(
        f"{phonepe.url}/simulator/orders/{merchant_order_id}/complete", json={"state": "COMPLETED"}, timeout=15
    )
    assert settled.status_code == 200
    order = phonepe.state.orders[merchant_order_id]
    body = json.dumps(
        {
            "event": "checkout.order.completed",
            "type": "CHECKOUT_ORDER_COMPLETED",
            "payload": {
                "merchantId": "M360SIMULATOR",
                "orderId": order.order_id,
                "merchantOrderId": merchant_order_id,
                "state": "COMPLETED",
                "amount": order.amount,
                "expireAt": order.expire_at_ms,
                "paymentDetails": [],
            },
        }
    )
    headers = {
        "Content-Type": "application/json",
        "Authorization": callback_authorization(settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD),
    }
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver(server):
        barrier.wait()
        response = requests.post(server.url("/api/v1/payments/webhook"), data=body, headers=headers, timeout=30)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver, args=((a, b)[i % 2],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 20
    assert WebhookEvent.objects.count() == 1
    (subscription,) = Subscription.objects.filter(user=user)
    assert subscription.status == "active"
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    assert Payment.objects.get().status == PaymentStatus.SUCCESS
    assert AuditLog.objects.filter(action="payment.state_change").count() == 1
    # Both instances report the same truth.
    for server in (a, b):
        detail = server.get(f"/api/v1/payments/{merchant_order_id}", headers=bearer).json()["data"]
        assert detail["status"] == "success"
        assert detail["subscription"]["id"] == str(subscription.pk)
