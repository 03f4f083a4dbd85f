"""The six sequences of docs/payments.md ("What each sequence does now"), end to end.

Our API in a live server, the PhonePe simulator calling its webhook with signed callbacks, refunds going
through the simulator: real HTTP both ways (transaction=True).
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.tests.checkout import checkout_create, checkout_pay, payment_read
from subscriptions.models import Grant, GrantState, Subscription
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DAY = timedelta(days=1)


def _active_end(user):
    return subscription_get_active(now=timezone.now(), user=user).end_date


def _approx(actual, expected):
    assert abs(actual - expected) < timedelta(seconds=30), (actual, expected)


def test_1_late_monthly_success_after_lifetime_is_refunded_and_lifetime_kept(live_simulator, plans, buyer):
    user, client = buyer
    monthly = checkout_create(client, "premium_monthly")  # opened earlier, left unpaid
    lifetime = checkout_create(client, "anytimebuddy_lifetime")
    checkout_pay(live_simulator, lifetime)
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"

    checkout_pay(live_simulator, monthly)  # the old order succeeds late

    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.plan.code == "anytimebuddy_lifetime"
    assert active.end_date is None
    refund = Refund.objects.get(payment_id=monthly["id"])
    assert refund.automatic is True
    assert refund.amount_paise == 29900
    # The refund row was written with the decision and sent to PhonePe right after it.
    assert refund.merchant_refund_id in live_simulator.server.state.refunds
    assert not Grant.objects.filter(payment_id=monthly["id"]).exists()
    data = payment_read(client, monthly)
    assert data["status"] == "success"
    assert "for life" in data["refundReason"]
    assert AuditLog.objects.filter(
        action="payment.refund", resource_id=monthly["id"], changes__after__automatic=True
    ).exists()

    live_simulator.finish_refund(refund.merchant_refund_id)  # PhonePe completes it, calls back

    assert payment_read(client, monthly)["status"] == "refunded"
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"
    assert Grant.objects.get(payment_id=lifetime["id"]).state == GrantState.CURRENT
    assert payment_read(client, lifetime)["status"] == "success"


def test_2_second_lifetime_paid_in_another_tab_is_refunded_and_the_first_stays(live_simulator, plans, buyer):
    user, client = buyer
    first = checkout_create(client, "anytimebuddy_lifetime")
    second = checkout_create(client, "anytimebuddy_lifetime")  # second tab, before either is paid
    checkout_pay(live_simulator, first)
    checkout_pay(live_simulator, second)

    refund = Refund.objects.get()
    assert str(refund.payment_id) == second["id"]
    assert refund.automatic is True
    live_simulator.finish_refund(refund.merchant_refund_id)

    assert payment_read(client, second)["status"] == "refunded"
    assert payment_read(client, first)["status"] == "success"
    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.plan.code == "anytimebuddy_lifetime"
    assert active.end_date is None
    assert Grant.objects.get(payment_id=first["id"]).state == GrantState.CURRENT
    # The user paid once for what they hold.
    kept = sum(p.amount_paise for p in Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS))
    assert kept == 999900


def test_3_refunding_the_second_month_takes_back_only_that_month(
    live_simulator, plans, buyer, make_auth_client, admin_user
):
    user, client = buyer
    first = checkout_create(client, "premium_monthly")
    checkout_pay(live_simulator, first)
    second = checkout_create(client, "premium_monthly")
    checkout_pay(live_simulator, second)
    subscription = subscription_get_active(now=timezone.now(), user=user)
    _approx(subscription.end_date, subscription.start_date + 60 * DAY)

    admin = make_auth_client(admin_user, mfa_verified=True)
    response = admin.post(f"/api/v1/admin/payments/{second['id']}/refund", {"reason": "asked"}, format="json")
    assert response.status_code == 202
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.PENDING
    _approx(_active_end(user), subscription.start_date + 60 * DAY)  # nothing moves before PhonePe completes it
    live_simulator.finish_refund(refund.merchant_refund_id)

    assert payment_read(client, second)["status"] == "refunded"
    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.pk == subscription.pk
    _approx(active.end_date, subscription.start_date + 30 * DAY)
    assert Grant.objects.get(payment_id=first["id"]).state == GrantState.CURRENT
    assert Grant.objects.get(payment_id=second["id"]).state == GrantState.REVOKED


def test_4_monthly_bought_during_a_yearly_plan_is_added_after_the_year(live_simulator, plans, buyer):
    user, client = buyer
    yearly = checkout_create(client, "premium_yearly")
    checkout_pay(live_simulator, yearly)
    year_end = _active_end(user)
    _approx(year_end, timezone.now() + 365 * DAY)

    monthly = checkout_create(client, "premium_monthly")
    checkout_pay(live_simulator, monthly)

    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.plan.code == "premium_yearly"
    assert active.end_date == year_end + 30 * DAY
    queued = Grant.objects.get(payment_id=monthly["id"])
    assert queued.state == GrantState.QUEUED
    assert queued.starts_at == year_end
    assert payment_read(client, monthly)["subscription"]["id"] == str(active.pk)
    assert Subscription.objects.filter(user=user).count() == 1


def test_5_callback_seen_while_gateway_was_pending_is_processed_when_delivered_again(live_simulator, plans, buyer):
    user, client = buyer
    payment = checkout_create(client, "premium_monthly")
    # A verified callback that says COMPLETED while PhonePe still reports the order PENDING.
    early = live_simulator.send_callback(payment["transactionId"], state="COMPLETED")
    assert early["webhook"]["status"] == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.GATEWAY_PENDING
    assert subscription_get_active(now=timezone.now(), user=user) is None

    checkout_pay(live_simulator, payment)  # the real callback: same event, same state

    event.refresh_from_db()
    assert WebhookEvent.objects.count() == 1
    assert event.outcome == WebhookOutcome.APPLIED
    assert Payment.objects.get(pk=payment["id"]).status == PaymentStatus.SUCCESS
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "premium_monthly"

    # A duplicate of the final outcome stays a no-op.
    replay = live_simulator.send_callback(payment["transactionId"], state="COMPLETED")
    assert replay["webhook"]["status"] == 200
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.APPLIED
    assert AuditLog.objects.filter(action="payment.state_change", resource_id=payment["id"]).count() == 1


def test_6_reading_a_stale_pending_payment_asks_phonepe_at_most_once_per_interval(
    live_simulator, plans, buyer, settings
):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    settings.PAYMENT_RECONCILE_INTERVAL_SECONDS = 60
    user, client = buyer
    payment = checkout_create(client, "premium_monthly")

    def status_calls():
        return sum(
            1
            for request in live_simulator.server.state.requests
            if request["method"] == "GET" and request["path"].endswith(f"/order/{payment['transactionId']}/status")
        )

    for _ in range(5):
        assert payment_read(client, payment)["status"] == "pending"
    assert status_calls() == 1
    assert Payment.objects.get(pk=payment["id"]).last_reconciled_at is not None

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert payment_read(client, payment)["status"] == "pending"
        assert payment_read(client, payment)["status"] == "pending"
    assert status_calls() == 2

    # The callback is lost; the next read after the interval finds the success.
    live_simulator.server.callback_url = None
    live_simulator.complete(payment["transactionId"], "COMPLETED")
    with time_machine.travel(timezone.now() + timedelta(seconds=122)):
        assert payment_read(client, payment)["status"] == "success"
    assert status_calls() == 3
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "premium_monthly"
