"""A renewal that started finishes, whatever PhonePe, the worker or the user did meanwhile (docs/autopay.md).

End to end through the API, the webhook (a live server the simulator calls back), a real procrastinate
worker and the simulator with injected faults; the clock is moved with time_machine, never waited.
Every debit PhonePe takes must end as a payment whose grant gives the user something, or as a refund.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog
from accounts.services.profile import user_soft_delete
from autopay import renewals
from autopay.models import Mandate, MandateState, Renewal, RenewalState
from autopay.tests.conftest import AUTOPAY
from autopay.tests.test_renewals import HOUR, MONTH, _paid_end, _sweep
from payments import tasks as payments_tasks
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from payments.phonepe.client import PhonePeUnavailable
from subscriptions.entitlements import entitlements_advance
from subscriptions.models import Grant, Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REDEMPTION_EVENTS = ("subscription.redemption.transaction.completed", "subscription.redemption.order.completed")


def _fault(autopay_sim, operation: str, *, count: int, status: int = 503) -> None:
    response = autopay_sim.sim.post("/simulator/faults", {"operation": operation, "status": status, "count": count})
    assert response.status_code == 200


def _faults_stop(autopay_sim) -> None:
    """PhonePe answers again (the simulator runs in this process)."""
    state = autopay_sim.sim.server.state
    with state.lock:
        state.faults.clear()


def _debit_taken_and_refunded(renewal: Renewal, autopay_sim) -> Payment:
    """What PhonePe took for `renewal` is in our books once, granted nothing and is being refunded."""
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED  # PhonePe's word: the debit went through
    [order] = autopay_sim.redemptions()
    assert (order.merchant_order_id, order.state, len(order.payment_details)) == (
        renewal.merchant_order_id,
        "COMPLETED",
        1,
    )
    payment = Payment.objects.get(merchant_order_id=renewal.merchant_order_id)
    assert renewal.payment_id == payment.pk
    assert (payment.status, payment.amount_paise) == (PaymentStatus.SUCCESS, 29900)
    assert "turned off" in payment.refund_reason
    assert not Grant.objects.filter(payment=payment).exists()  # nothing bought for a mandate the user stopped
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount_paise, refund.automatic, refund.sent_at is not None) == (29900, True, True)
    assert autopay_sim.sim.server.state.refunds[refund.merchant_refund_id].amount == 29900
    return payment


def test_debit_confirmed_after_autopay_was_turned_off_is_recorded_and_refunded(
    live_simulator, job_engine, autopay_user, autopay_sim, make_auth_client
):
    """PhonePe's order status answers 503 while the debit goes through; both redemption callbacks are stored
    `status_unavailable`; the user turns Autopay off; once PhonePe answers, the reprocessing job settles it."""
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.NOTIFIED

    _fault(autopay_sim, "subscription_order_status", count=1000)
    _sweep(job_engine, end - 23 * HOUR)  # the redeem goes through; nothing can be confirmed
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.DEBITING
    assert autopay_sim.redemptions()[0].state == "COMPLETED"  # PhonePe took the money
    events = WebhookEvent.objects.filter(merchant_order_id=renewal.merchant_order_id, event__in=REDEMPTION_EVENTS)
    assert sorted(events.values_list("outcome", flat=True)) == ["status_unavailable"] * 2
    assert not Payment.objects.filter(merchant_order_id=renewal.merchant_order_id).exists()

    with time_machine.travel(end - 22 * HOUR, tick=False):
        assert make_auth_client(user).delete(AUTOPAY).status_code == 200  # signed in again: a month went by
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED

    _faults_stop(autopay_sim)
    at = end - 21 * HOUR
    with time_machine.travel(at, tick=False):
        payments_tasks.reprocess_unfinished_webhooks.defer(timestamp=int(at.timestamp()))
        job_engine.run(queues=["payments"])
    assert sorted(events.values_list("outcome", flat=True)) == ["already_applied", "applied"]
    payment = _debit_taken_and_refunded(renewal, autopay_sim)
    assert _paid_end(user) == end  # what was paid before stays; the refunded debit adds nothing

    refund = Refund.objects.get(payment=payment)
    live_simulator.finish_refund(refund.merchant_refund_id)  # PhonePe's refund callback reaches the webhook
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED

    # A redelivery of the (now final) callback, and later job runs, change nothing.
    live_simulator.send_callback(renewal.merchant_order_id, event="subscription.redemption.order.completed")
    _sweep(job_engine, end + HOUR)
    assert Payment.objects.filter(user=user).count() == 2  # the setup charge and the refunded debit
    assert Renewal.objects.filter(mandate=mandate).count() == 1
    assert len(autopay_sim.redemptions()) == 1
    assert job_engine.statuses("payments.reprocess_webhook_event") == ["succeeded"] * 2


def test_worker_killed_during_the_redeem_then_autopay_turned_off_is_settled_by_the_sweep(
    job_engine, autopay_user, autopay_sim, monkeypatch, make_auth_client
):
    """No callback reaches us at all: the periodic sweep still finds the open debit of a cancelled mandate."""
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)

    def killed(**kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch, time_machine.travel(end - 23 * HOUR, tick=False):
        patch.setattr(renewals, "renewal_sync", killed)
        with pytest.raises(RuntimeError):
            renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.DEBITING
    assert autopay_sim.redemptions()[0].state == "COMPLETED"

    with time_machine.travel(end - 22 * HOUR, tick=False):
        assert make_auth_client(user).delete(AUTOPAY).status_code == 200  # signed in again: a month went by
    assert Mandate.objects.get(pk=mandate.pk).state == MandateState.CANCELLED

    with time_machine.travel(end - 21 * HOUR, tick=False):
        assert mandate.pk in renewals.mandates_due(now=timezone.now())  # not live, but its debit is open
    _sweep(job_engine, end - 21 * HOUR)
    _debit_taken_and_refunded(renewal, autopay_sim)
    assert _paid_end(user) == end
    assert job_engine.statuses("autopay.advance_mandate") == ["succeeded"] * 2
    audit = AuditLog.objects.get(action="autopay.renewal_charged", resource_id=str(mandate.pk))
    assert "turned off" in audit.changes["after"]["refunded"]


def test_one_503_on_the_debit_is_retried_by_the_next_run(job_engine, autopay_user, autopay_sim):
    user, client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    _fault(autopay_sim, "redeem", count=1)

    _sweep(job_engine, end - 23 * HOUR)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.DEBITING
    assert autopay_sim.redemptions()[0].state == "NOTIFIED"  # the request never reached PhonePe
    assert job_engine.statuses("autopay.advance_mandate").count("failed") == 0

    _sweep(job_engine, end - 23 * HOUR + timedelta(minutes=10))  # the next sweep sends it again
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert len(autopay_sim.redemptions()[0].payment_details) == 1  # debited once
    assert _paid_end(user) == end + MONTH
    assert Renewal.objects.filter(mandate=mandate).count() == 1
    assert not AuditLog.objects.filter(action="autopay.grace_started").exists()
    mandate.refresh_from_db()
    assert mandate.will_renew
    assert client.get("/api/v1/subscriptions/current").json()["subscription"]["autoRenew"] is True


def test_a_failure_learned_after_the_paid_end_starts_the_grace_period_and_the_retry_renews(
    job_engine, autopay_user, autopay_sim, settings
):
    """PhonePe reports the failed debit only after the paid end (its status API was down, or its own retries
    ran long): the subscription row expired meanwhile. Grace still starts at the paid end, the mandate follows
    the new row, the retry charges the period from the paid end, and Autopay stays on."""
    user, client, mandate = autopay_user
    end = _paid_end(user)
    first_row = mandate.subscription_id
    _sweep(job_engine, end - 47 * HOUR)
    autopay_sim.control(mandate, "fail-next-debit", {"count": 1})
    _fault(autopay_sim, "subscription_order_status", count=1000)
    with time_machine.travel(end - 23 * HOUR, tick=False), pytest.raises(PhonePeUnavailable):
        renewals.renewal_advance(
            now=timezone.now(), mandate_id=mandate.pk
        )  # the job fails; procrastinate would retry it
    assert Renewal.objects.get(mandate=mandate).state == RenewalState.DEBITING
    assert autopay_sim.redemptions()[0].state == "FAILED"

    with time_machine.travel(end + HOUR, tick=False):
        entitlements_advance(now=timezone.now())  # the paid time ran out: the row expires
        assert subscription_get_active(now=timezone.now(), user=user) is None
    assert Subscription.objects.get(pk=first_row).status == SubscriptionStatus.EXPIRED

    _faults_stop(autopay_sim)
    _sweep(job_engine, end + 2 * HOUR)
    first = Renewal.objects.get(mandate=mandate, attempt=1)
    assert first.state == RenewalState.FAILED
    mandate.refresh_from_db()
    assert (mandate.state, mandate.cancel_requested_at) == (MandateState.ACTIVE, None)  # not turned off
    grace_end = end + timedelta(days=settings.AUTOPAY_GRACE_DAYS)
    with time_machine.travel(end + 2 * HOUR, tick=False):
        active = subscription_get_active(now=timezone.now(), user=user)
    assert (active.start_date, active.end_date) == (end, grace_end)  # the loan starts at the paid end
    assert mandate.subscription_id == active.pk != first_row  # the mandate renews the live row
    assert active.auto_renew is True
    assert AuditLog.objects.filter(action="autopay.grace_started", resource_id=str(mandate.pk)).count() == 1

    retry_at = end + 2 * HOUR + timedelta(hours=settings.AUTOPAY_RETRY_AFTER_HOURS, minutes=10)
    _sweep(job_engine, retry_at)
    second = Renewal.objects.get(mandate=mandate, attempt=2)
    assert (second.cycle, second.state) == (1, RenewalState.NOTIFIED)
    _sweep(job_engine, retry_at + 24 * HOUR + timedelta(minutes=10))
    second.refresh_from_db()
    assert second.state == RenewalState.SUCCEEDED
    assert _paid_end(user) == end + MONTH  # the period starts at the paid end: grace was a loan
    mandate.refresh_from_db()
    assert mandate.will_renew
    with time_machine.travel(retry_at + 25 * HOUR, tick=False):
        assert subscription_get_active(now=timezone.now(), user=user).pk == mandate.subscription_id
    assert Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS).count() == 2
    assert client.get("/api/v1/subscriptions/autopay").json()["data"]["state"] == "active"


def test_autopay_callbacks_once_set_aside_as_ignored_are_processed_again(
    job_engine, autopay_user, autopay_sim, monkeypatch
):
    """`ignored` is final only for an event type nothing reads: a redemption callback stored as `ignored` (as one
    stored before any handler read it) is processed again; an unknown type stays as it is."""
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    with monkeypatch.context() as patch, time_machine.travel(end - 23 * HOUR, tick=False):
        patch.setattr(renewals, "renewal_sync", lambda **kwargs: None)  # the confirmation was lost
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.DEBITING

    stored_at = end - 22 * HOUR
    with time_machine.travel(stored_at, tick=False):
        set_aside = WebhookEvent.objects.create(
            event_key=f"subscription.redemption.order.completed|{renewal.merchant_order_id}||COMPLETED",
            event="subscription.redemption.order.completed",
            merchant_order_id=renewal.merchant_order_id,
            state="COMPLETED",
            payload={"merchantOrderId": renewal.merchant_order_id, "state": "COMPLETED"},
            outcome="ignored",
            detail="event subscription.redemption.order.completed not handled",
            processed_at=stored_at,
        )
        unknown = WebhookEvent.objects.create(
            event_key="settlement.report.generated|||",
            event="settlement.report.generated",
            outcome="ignored",
            detail="event settlement.report.generated not handled",
            processed_at=stored_at,
        )
    at = stored_at + HOUR
    with time_machine.travel(at, tick=False):
        payments_tasks.reprocess_unfinished_webhooks.defer(timestamp=int(at.timestamp()))
        job_engine.run(queues=["payments"])

    set_aside.refresh_from_db()
    assert set_aside.outcome == "applied"
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    payment = Payment.objects.get(merchant_order_id=renewal.merchant_order_id)
    assert (payment.status, payment.refund_reason) == (PaymentStatus.SUCCESS, "")
    assert Grant.objects.filter(payment=payment).count() == 1
    assert _paid_end(user) == end + MONTH
    unknown_after = WebhookEvent.objects.get(pk=unknown.pk)
    assert (unknown_after.outcome, unknown_after.detail, unknown_after.processed_at) == (
        "ignored",
        unknown.detail,
        stored_at,
    )
    assert job_engine.statuses("payments.reprocess_webhook_event") == ["succeeded"]


def test_a_debit_confirmed_after_the_account_was_closed_is_refunded_and_autopay_ends(
    job_engine, autopay_user, autopay_sim, monkeypatch
):
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    with monkeypatch.context() as patch, time_machine.travel(end - 23 * HOUR, tick=False):
        patch.setattr(renewals, "renewal_sync", lambda **kwargs: None)  # the worker died before confirming
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.DEBITING
    with time_machine.travel(end - 22 * HOUR, tick=False):
        user_soft_delete(now=timezone.now(), user=user, actor=user)

    _sweep(job_engine, end - 21 * HOUR)
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    payment = Payment.objects.get(merchant_order_id=renewal.merchant_order_id)
    assert payment.status == PaymentStatus.SUCCESS
    assert "account was closed" in payment.refund_reason
    assert not Grant.objects.filter(payment=payment).exists()
    assert Refund.objects.get(payment=payment).sent_at is not None
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED  # no further debit for an account that is gone
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    _sweep(job_engine, end + 25 * HOUR)
    assert Renewal.objects.filter(mandate=mandate).count() == 1
    assert len(autopay_sim.redemptions()) == 1


def test_access_goes_on_in_grace_while_phonepe_has_not_confirmed_the_debit(
    job_engine, autopay_user, autopay_sim, settings
):
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    _fault(autopay_sim, "subscription_order_status", count=1000)
    with time_machine.travel(end - 23 * HOUR, tick=False), pytest.raises(PhonePeUnavailable):
        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
    assert autopay_sim.redemptions()[0].state == "COMPLETED"  # taken, but we cannot know yet

    with time_machine.travel(end + HOUR, tick=False):
        entitlements_advance(now=timezone.now())  # the paid end passes
        with pytest.raises(PhonePeUnavailable):
            renewals.renewal_advance(
                now=timezone.now(), mandate_id=mandate.pk
            )  # still down: the job fails and is run again
        active = subscription_get_active(now=timezone.now(), user=user)
    assert active is not None  # no gap while the debit is unconfirmed
    assert (active.start_date, active.end_date) == (end, end + timedelta(days=settings.AUTOPAY_GRACE_DAYS))
    mandate.refresh_from_db()
    assert mandate.subscription_id == active.pk
    assert mandate.will_renew
    assert Renewal.objects.get(mandate=mandate).state == RenewalState.DEBITING

    _faults_stop(autopay_sim)
    _sweep(job_engine, end + 2 * HOUR)
    assert Renewal.objects.get(mandate=mandate).state == RenewalState.SUCCEEDED
    assert _paid_end(user) == end + MONTH  # the grace was a loan: the paid month starts at the paid end
    assert not Grant.objects.filter(user=user, payment__isnull=True, state__in=["current", "queued"]).exists()
    assert AuditLog.objects.filter(action="autopay.grace_started", resource_id=str(mandate.pk)).count() == 1
    mandate.refresh_from_db()
    assert mandate.will_renew


def test_a_redemption_callback_before_phonepe_settled_the_debit_is_processed_again(
    live_simulator, job_engine, autopay_user, autopay_sim
):
    user, _client, mandate = autopay_user
    end = _paid_end(user)
    _sweep(job_engine, end - 47 * HOUR)
    renewal = Renewal.objects.get(mandate=mandate)
    with time_machine.travel(end - 30 * HOUR, tick=False):  # early (or forged): PhonePe still says NOTIFIED
        live_simulator.send_callback(
            renewal.merchant_order_id, event="subscription.redemption.order.completed", state="COMPLETED"
        )
    event = WebhookEvent.objects.get(
        merchant_order_id=renewal.merchant_order_id, event="subscription.redemption.order.completed"
    )
    assert event.outcome == "gateway_pending"  # not final
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.NOTIFIED
    assert not Payment.objects.filter(merchant_order_id=renewal.merchant_order_id).exists()

    _sweep(job_engine, end - 23 * HOUR)  # the debit; PhonePe delivers the same event again, now true
    event.refresh_from_db()
    assert event.outcome in ("applied", "already_applied")
    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert _paid_end(user) == end + MONTH
