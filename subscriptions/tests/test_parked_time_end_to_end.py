"""Time parked behind a lifetime plan is refunded, whichever payment completes first (docs/payments.md, rule 6).

Our API in a live server, the PhonePe simulator calling its webhook with signed callbacks, refunds going through
the simulator: real HTTP both ways (transaction=True).
"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.tests.checkout import checkout_create, checkout_pay, payment_read
from payments.tests.conftest import live_simulator, simulator  # noqa: F401 (fixtures)
from subscriptions.models import Grant, GrantState
from subscriptions.selectors import subscription_get_active
from subscriptions.tasks import refund_parked_time

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DAY = timedelta(days=1)
LIFETIME = "anytimebuddy_lifetime"


def _money(user):
    """What PhonePe keeps of the user's payments once every refund decided has completed, by plan."""
    payments = Payment.objects.filter(user=user)  # each holds the code of the plan it bought
    return {
        "kept": sorted(p.product_ref for p in payments if p.status == PaymentStatus.SUCCESS),
        "refunded": sorted(p.product_ref for p in payments if p.status == PaymentStatus.REFUNDED),
    }


def _finish_refunds(live_simulator):  # noqa: F811
    for refund in Refund.objects.filter(status=RefundStatus.PENDING).exclude(sent_at=None):
        live_simulator.finish_refund(refund.merchant_refund_id)


@pytest.mark.parametrize("first", ["premium_monthly", LIFETIME])
def test_monthly_and_lifetime_completed_together_refund_the_month_in_either_order(
    live_simulator,  # noqa: F811
    plans,
    buyer,
    first,
):
    user, client = buyer
    orders = {
        code: checkout_create(client, code) for code in ("premium_monthly", LIFETIME)
    }  # two tabs, nothing held yet
    second = LIFETIME if first == "premium_monthly" else "premium_monthly"

    checkout_pay(live_simulator, orders[first])
    checkout_pay(live_simulator, orders[second])

    # Decided in the transaction that applied the second success, sent to PhonePe right after it.
    refund = Refund.objects.get()
    assert str(refund.payment_id) == orders["premium_monthly"]["id"]
    assert (refund.automatic, refund.amount_paise) == (True, 29900)
    assert refund.merchant_refund_id in live_simulator.server.state.refunds
    assert "for life" in payment_read(client, orders["premium_monthly"])["refundReason"]
    assert AuditLog.objects.filter(
        action="payment.refund", resource_id=orders["premium_monthly"]["id"], changes__after__automatic=True
    ).exists()
    active = subscription_get_active(now=timezone.now(), user=user)
    assert (active.plan.code, active.end_date) == (LIFETIME, None)

    _finish_refunds(live_simulator)

    assert _money(user) == {"kept": [LIFETIME], "refunded": ["premium_monthly"]}
    assert not Grant.objects.filter(payment_id=orders["premium_monthly"]["id"], state__in=["current", "queued"])
    assert Grant.objects.get(payment_id=orders[LIFETIME]["id"]).state == GrantState.CURRENT
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == LIFETIME


def test_a_yearly_plan_partly_used_then_lifetime_refunds_the_year_in_full(
    live_simulator,  # noqa: F811
    plans,
    make_auth_client,
):
    user = UserFactory()
    with time_machine.travel(timezone.now() - 100 * DAY):
        then = make_auth_client(user)
        yearly = checkout_create(then, "premium_yearly")
        checkout_pay(live_simulator, yearly)
        monthly = checkout_create(then, "premium_monthly")  # appended after the year
        checkout_pay(live_simulator, monthly)

    client = make_auth_client(user)  # 100 days of the year used
    lifetime = checkout_create(client, LIFETIME)
    checkout_pay(live_simulator, lifetime)

    refunds = {str(r.payment_id): r for r in Refund.objects.all()}
    assert set(refunds) == {yearly["id"], monthly["id"]}
    assert refunds[yearly["id"]].amount_paise == 299900  # in full although 100 days were used (rule 6)
    assert refunds[monthly["id"]].amount_paise == 29900  # never started
    assert "for life" in payment_read(client, yearly)["refundReason"]
    # Until PhonePe completes them, the time waits behind the lifetime grant; nothing of it runs.
    parked = Grant.objects.filter(payment_id__in=[yearly["id"], monthly["id"]], state=GrantState.QUEUED)
    assert parked.count() == 2
    assert all(grant.starts_at is None for grant in parked)

    _finish_refunds(live_simulator)

    assert _money(user) == {"kept": [LIFETIME], "refunded": ["premium_monthly", "premium_yearly"]}
    used = Grant.objects.get(payment_id=yearly["id"], continues__isnull=True)
    assert used.state == GrantState.REVOKED  # the used part stays on record, marked refunded
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == LIFETIME


def test_a_payment_busy_when_the_lifetime_plan_lands_is_refunded_by_the_sweep_job(
    live_simulator,  # noqa: F811
    plans,
    buyer,
    job_engine,
):
    user, client = buyer
    monthly = checkout_create(client, "premium_monthly")
    checkout_pay(live_simulator, monthly)
    yearly = checkout_create(client, "premium_yearly")  # queued after the month
    checkout_pay(live_simulator, yearly)
    lifetime = checkout_create(client, LIFETIME)

    # Someone else holds the yearly payment's row (an operator's refund request, a status check) while the
    # lifetime success is applied: it is skipped there, never waited for (lock order: payment, then user).
    locked, release = threading.Event(), threading.Event()

    def hold_row():
        try:
            with transaction.atomic():
                Payment.objects.select_for_update().get(pk=yearly["id"])
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_row)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        checkout_pay(live_simulator, lifetime)
    finally:
        release.set()
        holder.join()

    assert subscription_get_active(now=timezone.now(), user=user).plan.code == LIFETIME
    assert [str(r.payment_id) for r in Refund.objects.all()] == [monthly["id"]]  # the free row: decided inline
    assert Grant.objects.get(payment_id=yearly["id"]).starts_at is None

    refund_parked_time.defer(timestamp=int(timezone.now().timestamp()))
    job_engine.run()

    assert job_engine.statuses("subscriptions.refund_parked_time") == ["succeeded"]
    refund = Refund.objects.get(payment_id=yearly["id"])
    assert (refund.automatic, refund.amount_paise) == (True, 299900)
    assert refund.merchant_refund_id in live_simulator.server.state.refunds
    assert "for life" in payment_read(client, yearly)["refundReason"]

    # Idempotent: the next tick decides nothing again.
    refund_parked_time.defer(timestamp=int(timezone.now().timestamp()) + 1)
    job_engine.run()
    assert Refund.objects.count() == 2

    _finish_refunds(live_simulator)
    assert _money(user) == {"kept": [LIFETIME], "refunded": ["premium_monthly", "premium_yearly"]}


def test_refunding_the_lifetime_plan_later_leaves_nothing_paid_twice(
    live_simulator,  # noqa: F811
    plans,
    buyer,
    make_auth_client,
    admin_user,
):
    user, client = buyer
    monthly = checkout_create(client, "premium_monthly")
    checkout_pay(live_simulator, monthly)
    lifetime = checkout_create(client, LIFETIME)
    checkout_pay(live_simulator, lifetime)
    _finish_refunds(live_simulator)  # the month's refund completes

    admin = make_auth_client(admin_user, mfa_verified=True)
    response = admin.post(f"/api/v1/admin/payments/{lifetime['id']}/refund", {"reason": "asked"}, format="json")
    assert response.status_code == 202
    _finish_refunds(live_simulator)

    # Both payments went back; the month does not come back to life for free.
    assert _money(user) == {"kept": [], "refunded": [LIFETIME, "premium_monthly"]}
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert not Grant.objects.filter(user=user, state__in=[GrantState.CURRENT, GrantState.QUEUED]).exists()
