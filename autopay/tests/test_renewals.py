"""Renewals through the job engine (a real procrastinate worker on the test database) against the
simulator over HTTP, with the clock moved (time_machine moves ours and, in this process, the
simulator's too), never waited."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog
from autopay import renewals, tasks
from autopay.models import Mandate, MandateState, Renewal, RenewalState
from payments.models import Payment, PaymentStatus, WebhookEvent
from subscriptions.models import Grant, GrantState
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOUR = timedelta(hours=1)
MONTH = timedelta(days=30)


def _paid_end(user):
    return subscription_get_active(now=timezone.now(), user=user).end_date


def _sweep(job_engine, at):
    """At time `at`: the periodic sweep, then the worker until the queue is empty."""
    with time_machine.travel(at, tick=False):
        tasks.renewals_due.defer(timestamp=int(at.timestamp()))
        job_engine.run()


def _renew_once(job_engine, user):
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)  # pre-debit notification
    _sweep(job_engine, end - 23 * HOUR)  # 24 h later: debit, confirm, record
    return end


def test_a_year_of_monthly_renewals(job_engine, autopay_user, autopay_sim):
    user, client, mandate = autopay_user
    first_end = _paid_end(user)

    for month in range(12):
        end = _paid_end(user)
        _sweep(job_engine, end - 47 * HOUR)
        renewal = Renewal.objects.get(mandate=mandate, cycle=month + 1)
        assert renewal.state == RenewalState.NOTIFIED
        assert _paid_end(user) == end  # nothing charged at notification
        _sweep(job_engine, end - 23 * HOUR)
        renewal.refresh_from_db()
        assert renewal.state == RenewalState.SUCCEEDED
        assert _paid_end(user) == end + MONTH  # appended to the paid end, not counted from the debit

    assert _paid_end(user) == first_end + 12 * MONTH
    succeeded = Renewal.objects.filter(mandate=mandate, state=RenewalState.SUCCEEDED)
    assert sorted(succeeded.values_list("cycle", flat=True)) == list(range(1, 13))
    assert Renewal.objects.filter(mandate=mandate).count() == 12  # no retries, no duplicates
    payments = Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS)
    assert payments.count() == 13  # the setup charge plus 12 renewals, each once
    assert set(payments.values_list("amount_paise", flat=True)) == {29900}
    assert Grant.objects.filter(user=user, payment__isnull=False).count() == 13
    debits = autopay_sim.redemptions()
    assert len(debits) == 12
    assert all(order.state == "COMPLETED" and len(order.payment_details) == 1 for order in debits)
    assert all(order.valid_after_ms - order.notified_at_ms >= 24 * 3600 * 1000 for order in debits)
    assert AuditLog.objects.filter(action="autopay.renewal_charged", resource_id=str(mandate.pk)).count() == 12
    assert job_engine.statuses("autopay.advance_mandate").count("failed") == 0
    assert client.get("/api/v1/subscriptions/current").json()["subscription"]["autoRenew"] is True
    seen = client.get("/api/v1/subscriptions/autopay").json()["data"]
    assert (seen["state"], seen["nextDebitAmountPaise"]) == ("active", 29900)


def test_nothing_happens_before_the_notice_window(job_engine, autopay_user, autopay_sim):
    user, _, _mandate = autopay_user
    _sweep(job_engine, _paid_end(user) - 72 * HOUR)
    assert not Renewal.objects.exists()
    assert autopay_sim.redemptions() == []


def test_failed_debit_then_recovery_within_grace(job_engine, autopay_user, autopay_sim, settings):
    user, _, mandate = autopay_user
    autopay_sim.control(mandate, "fail-next-debit", {"count": 1})
    end = _renew_once(job_engine, user)

    first = Renewal.objects.get(mandate=mandate, attempt=1)
    assert first.state == RenewalState.FAILED
    grace_end = end + timedelta(days=settings.AUTOPAY_GRACE_DAYS)
    assert _paid_end(user) == grace_end  # access continues while the debit is retried
    assert AuditLog.objects.filter(action="autopay.grace_started").count() == 1

    _sweep(job_engine, end + 2 * HOUR)  # retry: a new notification, 24 h after the failure at the earliest
    second = Renewal.objects.get(mandate=mandate, attempt=2)
    assert (second.cycle, second.state) == (1, RenewalState.NOTIFIED)
    _sweep(job_engine, end + 26 * HOUR)
    second.refresh_from_db()
    assert second.state == RenewalState.SUCCEEDED
    assert _paid_end(user) == end + MONTH  # the paid month starts at the paid end; grace was a loan
    assert Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS).count() == 2
    assert not Grant.objects.filter(user=user, payment__isnull=True, state__in=["current", "queued"]).exists()
    assert Mandate.objects.get(pk=mandate.pk).state == MandateState.ACTIVE


def test_failed_debits_then_lapse_after_grace(job_engine, autopay_user, autopay_sim, settings):
    user, _client, mandate = autopay_user
    autopay_sim.control(mandate, "fail-next-debit", {"count": 10})
    end = _renew_once(job_engine, user)
    for hours in (2, 26, 50, 74, 98, 122):
        _sweep(job_engine, end + hours * HOUR)

    attempts = Renewal.objects.filter(mandate=mandate).order_by("attempt")
    assert [r.state for r in attempts] == [RenewalState.FAILED] * settings.AUTOPAY_MAX_ATTEMPTS
    assert {r.cycle for r in attempts} == {1}
    assert (
        not Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS)
        .exclude(pk=mandate.setup_payment_id)
        .exists()
    )
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED  # cancelled at PhonePe: no debit after the lapse
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    with time_machine.travel(end + 122 * HOUR, tick=False):
        assert subscription_get_active(now=timezone.now(), user=user) is None
    assert Grant.objects.filter(user=user, payment__isnull=True, state=GrantState.ENDED).count() == 1


def test_revoked_mandate_stops_renewal_and_keeps_the_paid_period(job_engine, autopay_user, autopay_sim):
    user, _, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    autopay_sim.control(mandate, "revoke")  # from the user's UPI app; no callback reaches us here
    _sweep(job_engine, end - 23 * HOUR)

    mandate.refresh_from_db()
    assert mandate.state == MandateState.REVOKED
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.ABANDONED
    assert [order.payment_details for order in autopay_sim.redemptions()] == [[]]  # never debited
    assert _paid_end(user) == end
    _sweep(job_engine, end + HOUR)
    assert Renewal.objects.filter(mandate=mandate).count() == 1


def test_turned_off_mandate_is_not_charged(job_engine, autopay_user, autopay_sim):
    user, client, _mandate = autopay_user
    end = _paid_end(user)
    assert client.delete("/api/v1/subscriptions/autopay").status_code == 200
    _renew_once(job_engine, user)
    assert not Renewal.objects.exists()
    assert autopay_sim.redemptions() == []
    assert _paid_end(user) == end


def test_crash_between_notify_and_execute_notifies_once_and_charges_once(
    job_engine, autopay_user, autopay_sim, monkeypatch
):
    user, _, mandate = autopay_user
    end = _paid_end(user)
    real_move = renewals._move

    def dies_after_phonepe_accepted(renewal, to_state, **kwargs):
        if to_state == RenewalState.NOTIFIED:
            raise RuntimeError("worker killed")
        return real_move(renewal, to_state, **kwargs)

    monkeypatch.setattr(renewals, "_move", dies_after_phonepe_accepted)
    with time_machine.travel(end - 47 * HOUR, tick=False), pytest.raises(RuntimeError):
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    monkeypatch.setattr(renewals, "_move", real_move)
    assert Renewal.objects.get(mandate=mandate).state == RenewalState.SCHEDULED
    assert len(autopay_sim.redemptions()) == 1  # PhonePe has the notification; we did not record it

    _sweep(job_engine, end - 46 * HOUR)  # the job runs again: same merchantOrderId, same notification
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.NOTIFIED
    assert len(autopay_sim.redemptions()) == 1
    _sweep(job_engine, end - 22 * HOUR)
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert len(autopay_sim.redemptions()[0].payment_details) == 1
    assert _paid_end(user) == end + MONTH


def test_crash_after_the_debit_request_never_debits_twice(job_engine, autopay_user, autopay_sim, monkeypatch):
    user, _, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    real_sync = renewals.renewal_sync

    def dies_before_recording(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(renewals, "renewal_sync", dies_before_recording)
    with time_machine.travel(end - 23 * HOUR, tick=False), pytest.raises(RuntimeError):
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    monkeypatch.setattr(renewals, "renewal_sync", real_sync)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.DEBITING
    assert autopay_sim.redemptions()[0].state == "COMPLETED"  # PhonePe took the money

    _sweep(job_engine, end - 22 * HOUR)
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert len(autopay_sim.redemptions()[0].payment_details) == 1
    assert Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS).count() == 2
    assert _paid_end(user) == end + MONTH


def test_the_database_allows_one_charge_per_period(autopay_user):
    from django.db import IntegrityError, transaction

    _, _, mandate = autopay_user
    period = timezone.now()
    Renewal.objects.create(
        mandate=mandate, cycle=1, attempt=1, merchant_order_id="M360R_a", amount_paise=29900, period_start=period
    )
    Renewal.objects.filter(merchant_order_id="M360R_a").update(state="notified")
    Renewal.objects.filter(merchant_order_id="M360R_a").update(state="succeeded")
    second = Renewal.objects.create(
        mandate=mandate, cycle=1, attempt=2, merchant_order_id="M360R_b", amount_paise=29900, period_start=period
    )
    Renewal.objects.filter(pk=second.pk).update(state="notified")
    with pytest.raises(IntegrityError), transaction.atomic():
        Renewal.objects.filter(pk=second.pk).update(state="succeeded")
    with pytest.raises(IntegrityError), transaction.atomic():
        Renewal.objects.filter(merchant_order_id="M360R_a").update(state="scheduled")  # forward only
    assert Renewal.objects.filter(state="succeeded").count() == 1


def test_duplicate_and_out_of_order_renewal_callbacks(live_simulator, job_engine, autopay_user, autopay_sim):
    user, _, mandate = autopay_user
    end = _renew_once(job_engine, user)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.SUCCEEDED
    for event in (
        "subscription.redemption.order.completed",
        "subscription.redemption.order.completed",
        "subscription.notification.completed",  # late, after the debit
        "subscription.redemption.order.failed",  # a lie: PhonePe says COMPLETED
    ):
        live_simulator.send_callback(renewal.merchant_order_id, event=event)
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS).count() == 2
    assert _paid_end(user) == end + MONTH
    lie = WebhookEvent.objects.get(
        merchant_order_id=renewal.merchant_order_id, event="subscription.redemption.order.failed"
    )
    assert lie.outcome == "already_applied"  # confirmed with PhonePe, which says COMPLETED
    completed = WebhookEvent.objects.filter(
        merchant_order_id=renewal.merchant_order_id, event="subscription.redemption.order.completed"
    )
    assert completed.count() == 1  # the real delivery and its duplicates: one row


def test_a_lifetime_plan_bought_while_autopay_runs_ends_the_renewals(
    job_engine, autopay_user, autopay_sim, simulator, create_payment
):
    from payments.services import payment_reconcile

    user, client, mandate = autopay_user
    end = _paid_end(user)
    order = create_payment(client, "anytimebuddy_lifetime")
    simulator.complete(order["transactionId"])
    lifetime = Payment.objects.get(merchant_order_id=order["transactionId"])
    payment_reconcile(payment_id=lifetime.pk, now=timezone.now())
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"

    _sweep(job_engine, end - 47 * HOUR)  # when the next notice would go out
    _sweep(job_engine, end - 23 * HOUR)  # and when its debit would

    assert autopay_sim.redemptions() == []  # never notified nor charged for a month the lifetime plan gives
    assert not Renewal.objects.filter(mandate=mandate).exists()
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    # The month the set-up charge bought waits behind the lifetime plan forever: refunded in full.
    setup = Payment.objects.get(pk=mandate.setup_payment_id)
    assert setup.refund_reason
    assert setup.refunds.get().amount_paise == setup.amount_paise
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"
