"""Payments API against the simulator over HTTP; callbacks posted to our webhook by the test client."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from subscriptions.models import Subscription
from subscriptions.selectors import subscription_get_active, user_entitlements

pytestmark = pytest.mark.django_db


def _nothing_written():
    return Payment.objects.count() == 0 and Subscription.objects.count() == 0 and WebhookEvent.objects.count() == 0


def test_create_payment_creates_a_phonepe_order(auth_client, user, plans, simulator):
    response = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json")
    assert response.status_code == 201
    body = response.json()
    data = body["data"]
    payment = Payment.objects.get()
    assert data["id"] == str(payment.pk)
    assert data["transactionId"] == data["merchantTransactionId"] == payment.merchant_order_id
    assert data["status"] == "pending"
    assert data["amountPaise"] == 29900
    assert data["amount"] == 299
    assert data["currency"] == "INR"
    assert data["paymentGateway"] == "PhonePe"
    assert 0 < data["expiresIn"] <= 1200
    order = simulator.order(payment.merchant_order_id)
    assert order.amount == 29900
    assert data["orderId"] == order.order_id
    assert data["redirectUrl"] == f"{simulator.url}/simulator/checkout/{order.order_id}"
    assert body["redirectUrl"] == data["redirectUrl"]
    assert order.redirect_url.endswith(f"transactionId={payment.merchant_order_id}")
    assert payment.user == user
    assert subscription_get_active(now=timezone.now(), user=user) is None


def test_create_accepts_the_alias_the_uuid_and_a_matching_rupee_amount(auth_client, plans, simulator):
    alias = auth_client.post(
        "/api/v1/payments/create", {"planId": "plan_premium", "amount": 299, "currency": "INR"}, format="json"
    )
    assert alias.status_code == 201
    assert alias.json()["data"]["planId"] == "premium_monthly"
    by_uuid = auth_client.post(
        "/api/v1/payments/create", {"planId": str(plans["track_single"].uuid), "amount": "30.00"}, format="json"
    )
    assert by_uuid.status_code == 201
    assert by_uuid.json()["data"]["amountPaise"] == 3000


@pytest.mark.parametrize("amount", [999, 298.99, "0.01"])
def test_client_amount_differing_from_the_plan_is_400_and_creates_nothing(auth_client, plans, simulator, amount):
    response = auth_client.post(
        "/api/v1/payments/create", {"planId": "premium_monthly", "amount": amount}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "amount_mismatch"
    assert _nothing_written()
    assert simulator.server.state.orders == {}


@pytest.mark.parametrize("plan_id", ["platinum", str(uuid.uuid4())])
def test_unknown_plan_is_404(auth_client, plans, simulator, plan_id):
    response = auth_client.post("/api/v1/payments/create", {"planId": plan_id}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "plan_not_found"
    assert _nothing_written()


def test_empty_plan_id_is_400(auth_client, plans, simulator):
    response = auth_client.post("/api/v1/payments/create", {"planId": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert _nothing_written()


def test_free_plan_cannot_be_paid_for(auth_client, plans, simulator):
    response = auth_client.post("/api/v1/payments/create", {"planId": "healer_free"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "plan_is_free"
    assert _nothing_written()


def test_idempotency_key_returns_the_same_payment(auth_client, plans, simulator):
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-7f3a"}
    first = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json", **headers)
    second = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json", **headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    assert first.json()["data"]["redirectUrl"] == second.json()["data"]["redirectUrl"]
    assert Payment.objects.count() == 1
    assert len(simulator.server.state.orders) == 1
    # The same key for a different plan is a conflict, not a second payment.
    other = auth_client.post("/api/v1/payments/create", {"planId": "premium_yearly"}, format="json", **headers)
    assert other.status_code == 409
    assert Payment.objects.count() == 1


def test_idempotency_keys_are_per_user(auth_client, make_auth_client, plans, simulator):
    other_client = make_auth_client(UserFactory())
    headers = {"HTTP_IDEMPOTENCY_KEY": "same-key"}
    first = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json", **headers)
    second = other_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["data"]["id"] != second.json()["data"]["id"]


def test_gateway_down_is_502_payment_failed_and_no_subscription(auth_client, user, plans, simulator):
    simulator.server.stop()
    response = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "gateway_unavailable"
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "gateway_unavailable"
    assert Subscription.objects.count() == 0
    assert WebhookEvent.objects.count() == 0
    assert AuditLog.objects.filter(action="payment.state_change", resource_id=str(payment.pk)).count() == 1


def test_gateway_5xx_on_pay_is_502_after_checking_the_order(auth_client, plans, simulator):
    simulator.post("/simulator/faults", {"operation": "pay", "status": 503, "count": 5})
    response = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json")
    assert response.status_code == 502
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert simulator.server.state.orders == {}


def test_upgrade_to_a_paid_plan_starts_a_payment_and_grants_nothing(auth_client, user, plans, simulator):
    response = auth_client.post("/api/v1/subscriptions/upgrade", {"planId": "premium_yearly"}, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == "pending"
    assert data["amountPaise"] == 299900
    assert data["paymentGateway"] == "PhonePe"
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert Subscription.objects.count() == 0
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()


# --- webhook --------------------------------------------------------------------


@pytest.mark.parametrize("authorization", ["", "wrong", "SHA256 deadbeef"])
def test_unsigned_or_forged_callback_is_401_and_stores_nothing(
    auth_client, user, plans, simulator, create_payment, post_callback, authorization
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    response = post_callback(
        simulator.order_callback_body(payment["transactionId"], "COMPLETED"), authorization=authorization
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert WebhookEvent.objects.count() == 0
    assert Payment.objects.get().status == PaymentStatus.PENDING
    assert Subscription.objects.count() == 0


def test_signed_callback_grants_once_and_replay_does_nothing(
    auth_client, user, plans, simulator, create_payment, post_callback
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    body = simulator.order_callback_body(payment["transactionId"], "COMPLETED")

    first = post_callback(body)
    assert first.status_code == 200
    assert first.json()["data"]["outcome"] == "applied"
    stored = Payment.objects.get()
    assert stored.status == PaymentStatus.SUCCESS
    assert stored.completed_at is not None
    subscription = subscription_get_active(now=timezone.now(), user=user)
    assert subscription.plan.code == "premium_monthly"
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    assert stored.grants.get().subscription_id == subscription.pk

    second = post_callback(body)
    assert second.status_code == 200
    assert second.json()["message"] == "Duplicate event acknowledged."
    assert WebhookEvent.objects.count() == 1
    assert Subscription.objects.count() == 1
    subscription.refresh_from_db()
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    assert AuditLog.objects.filter(action="payment.state_change", resource_id=str(stored.pk)).count() == 1


def test_callback_claiming_success_while_gateway_is_pending_grants_nothing(
    auth_client, user, plans, simulator, create_payment, post_callback
):
    payment = create_payment(auth_client)  # never paid at the gateway
    response = post_callback(simulator.order_callback_body(payment["transactionId"], "COMPLETED"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.GATEWAY_PENDING
    assert Payment.objects.get().status == PaymentStatus.PENDING
    assert Subscription.objects.count() == 0


def test_failed_callback_after_success_is_recorded_and_ignored(
    auth_client, user, plans, simulator, create_payment, post_callback
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    post_callback(simulator.order_callback_body(payment["transactionId"], "COMPLETED"))
    subscription = subscription_get_active(now=timezone.now(), user=user)
    end_date = subscription.end_date

    late = post_callback(simulator.order_callback_body(payment["transactionId"], "FAILED"))
    assert late.status_code == 200
    event = WebhookEvent.objects.get(state="FAILED")
    assert event.outcome == WebhookOutcome.IGNORED_LATE_FAILURE
    assert Payment.objects.get().status == PaymentStatus.SUCCESS
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.end_date == end_date


def test_failed_payment_grants_nothing(auth_client, user, plans, simulator, create_payment, post_callback):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"], "FAILED")
    post_callback(simulator.order_callback_body(payment["transactionId"], "FAILED"))
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert Subscription.objects.count() == 0


def test_amount_not_matching_is_rejected_recorded_and_grants_nothing(
    auth_client, user, plans, simulator, create_payment, post_callback
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"], "COMPLETED", amount=100)  # the gateway captured ₹1
    response = post_callback(simulator.order_callback_body(payment["transactionId"], "COMPLETED"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.REJECTED_AMOUNT_MISMATCH
    stored = Payment.objects.get()
    assert stored.status == PaymentStatus.FAILED
    assert stored.failure_reason == "amount_mismatch"
    assert Subscription.objects.count() == 0
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()


def test_callback_for_an_unknown_order_is_stored_and_acknowledged(plans, simulator, post_callback):
    body = {
        "event": "checkout.order.completed",
        "payload": {"merchantOrderId": "M360_unknown", "state": "COMPLETED", "amount": 29900},
    }
    response = post_callback(body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.UNKNOWN_ORDER
    assert event.payment is None
    assert Payment.objects.count() == 0
    assert Subscription.objects.count() == 0


def test_unknown_event_type_and_malformed_bodies(plans, simulator, post_callback, api_client, webhook_authorization):
    response = post_callback({"event": "something.new", "payload": {"extra": {"nested": 1}}})
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.IGNORED
    malformed = api_client.post(
        "/api/v1/payments/webhook",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=webhook_authorization,
    )
    assert malformed.status_code == 400
    assert WebhookEvent.objects.count() == 1


def test_webhook_status_check_failure_is_503_and_retried(
    auth_client, user, plans, simulator, create_payment, post_callback
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    body = simulator.order_callback_body(payment["transactionId"], "COMPLETED")
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 500, "count": 2})
    first = post_callback(body)
    assert first.status_code == 503
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.STATUS_UNAVAILABLE
    assert Subscription.objects.count() == 0
    # PhonePe retries the same event: processed this time.
    retry = post_callback(body)
    assert retry.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.APPLIED
    assert subscription_get_active(now=timezone.now(), user=user) is not None


def test_a_redelivery_of_an_event_left_received_is_processed_once_it_is_idle(
    auth_client, user, plans, simulator, create_payment, post_callback, settings
):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    body = simulator.order_callback_body(payment["transactionId"], "COMPLETED")
    # Stored by a delivery whose process died before recording an outcome.
    event = WebhookEvent.objects.create(
        event_key=f"checkout.order.completed|{payment['transactionId']}||COMPLETED",
        event="checkout.order.completed",
        merchant_order_id=payment["transactionId"],
        state="COMPLETED",
    )
    busy = post_callback(body)  # just received: another delivery may be processing it right now
    assert busy.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.RECEIVED
    assert Subscription.objects.count() == 0

    idle = timezone.now() - timedelta(seconds=settings.WEBHOOK_REPROCESS_AFTER_SECONDS + 1)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=idle)
    again = post_callback(body)
    assert again.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.APPLIED
    assert subscription_get_active(now=timezone.now(), user=user) is not None


# --- reading ----------------------------------------------------------------------


def test_lost_callback_is_resolved_by_reading_the_payment(
    auth_client, user, plans, simulator, create_payment, settings
):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])  # no callback URL configured: the callback is lost
    assert Payment.objects.get().status == PaymentStatus.PENDING
    response = auth_client.get(f"/api/v1/payments/{payment['transactionId']}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "success"
    assert data["completedAt"] is not None
    assert data["subscription"]["planId"] == "premium_monthly"
    assert data["subscription"]["status"] == "active"
    assert subscription_get_active(now=timezone.now(), user=user) is not None


def test_recent_pending_payment_is_not_reconciled_on_read(auth_client, plans, simulator, create_payment, settings):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 3600
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"])
    requests_before = len(simulator.server.state.requests)
    assert auth_client.get(f"/api/v1/payments/{payment['id']}").json()["data"]["status"] == "pending"
    assert len(simulator.server.state.requests) == requests_before


def test_payment_detail_shape_and_ids(auth_client, plans, simulator, create_payment):
    payment = create_payment(auth_client)
    by_uuid = auth_client.get(f"/api/v1/payments/{payment['id']}").json()["data"]
    by_transaction = auth_client.get(f"/api/v1/payments/{payment['transactionId']}").json()["data"]
    assert by_uuid == by_transaction
    for key in ("status", "planId", "planName", "amount", "currency", "createdAt", "completedAt", "subscription"):
        assert key in by_uuid
    assert "created_at" not in by_uuid  # one spelling: `created_at` is only on /admin/users rows
    listed = auth_client.get("/api/v1/payments").json()["data"][0]
    assert by_uuid["createdAt"] == listed["createdAt"]
    assert by_uuid["planName"] == "Premium Monthly"
    assert by_uuid["subscription"] is None


def test_another_users_payment_is_404(auth_client, make_auth_client, plans, simulator, create_payment):
    other_client = make_auth_client(UserFactory())
    payment = create_payment(other_client)
    for identifier in (payment["id"], payment["transactionId"], "not-a-uuid", "x" * 200):
        response = auth_client.get(f"/api/v1/payments/{identifier}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_admin_can_read_any_payment(admin_client, auth_client, plans, simulator, create_payment):
    payment = create_payment(auth_client)
    assert admin_client.get(f"/api/v1/payments/{payment['id']}").status_code == 200


def test_history_is_the_callers_and_query_count_is_pinned(
    auth_client, make_auth_client, plans, simulator, create_payment, django_assert_num_queries
):
    create_payment(auth_client)
    create_payment(auth_client, plan_id="premium_yearly")
    create_payment(make_auth_client(UserFactory()))
    # auth user lookup, page, the page's grants with their subscriptions, the page's plan names (one query for
    # all rows: payments hold a plan's code, the plan product names it); no COUNT: a page that is not full tells
    # the total
    with django_assert_num_queries(4):
        response = auth_client.get("/api/v1/payments?limit=10")
    body = response.json()
    assert [row["planId"] for row in body["data"]] == ["premium_yearly", "premium_monthly"]
    assert [row["planName"] for row in body["data"]] == [plans["premium_yearly"].name, plans["premium_monthly"].name]
    assert body["pagination"]["total"] == 2


def test_payment_endpoints_need_authentication(api_client, plans):
    assert api_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json").status_code == 401
    assert api_client.get("/api/v1/payments").status_code == 401
    assert api_client.get(f"/api/v1/payments/{uuid.uuid4()}").status_code == 401


def test_purchase_that_would_shorten_a_lifetime_plan_is_refused(auth_client, user, plans, simulator):
    from subscriptions.tests.factories import GrantedSubscriptionFactory

    GrantedSubscriptionFactory(user=user, plan=plans["anytimebuddy_lifetime"])
    response = auth_client.post("/api/v1/payments/create", {"planId": "premium_monthly"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "plan_not_purchasable"
    assert Payment.objects.count() == 0


def test_expires_in_is_zero_once_settled(auth_client, plans, simulator, create_payment, post_callback):
    payment = create_payment(auth_client)
    simulator.complete(payment["transactionId"], "FAILED")
    post_callback(simulator.order_callback_body(payment["transactionId"], "FAILED"))
    data = auth_client.get(f"/api/v1/payments/{payment['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["expiresIn"] == 0
    assert Payment.objects.get().updated_at <= timezone.now()
