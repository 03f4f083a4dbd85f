"""Payment jobs run through the job engine (a real procrastinate worker on the test database)
against the PhonePe simulator over HTTP."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditLog
from payments import tasks
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.phonepe.client import get_client
from subscriptions.models import Grant
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db(transaction=True)


def _tick():
    return int(timezone.now().timestamp())


@pytest.fixture
def pending(auth_client, plans, simulator, create_payment):
    data = create_payment(auth_client)
    payment = Payment.objects.get(pk=data["id"])
    # Older than the first-check threshold.
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    payment.refresh_from_db()
    return payment


@pytest.fixture
def paid(pending, simulator, job_engine, user):
    simulator.complete(pending.merchant_order_id)
    tasks.reconcile_payment.defer(payment_id=str(pending.pk))
    job_engine.run()
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.SUCCESS
    return pending


def _outbox_refund(payment, merchant_refund_id="R360_outbox_1"):
    """What a payment flow that decides a refund writes: the Refund row, pending, not yet sent."""
    return Refund.objects.create(
        payment=payment, merchant_refund_id=merchant_refund_id, amount_paise=payment.amount_paise
    )


def test_sweep_reconciles_a_pending_payment_completed_at_the_gateway(job_engine, pending, simulator, user):
    simulator.complete(pending.merchant_order_id)
    tasks.reconcile_pending_payments.defer(timestamp=_tick())
    job_engine.run()

    assert job_engine.statuses("payments.reconcile_pending_payments") == ["succeeded"]
    assert job_engine.statuses("payments.reconcile_payment") == ["succeeded"]
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.SUCCESS
    assert pending.last_reconciled_at is not None
    assert Grant.objects.filter(payment=pending).count() == 1
    assert subscription_get_active(now=timezone.now(), user=user) is not None

    # The next tick finds nothing to do: no second job, no second grant.
    tasks.reconcile_pending_payments.defer(timestamp=_tick() + 60)
    job_engine.run()
    assert job_engine.statuses("payments.reconcile_payment") == ["succeeded"]
    assert AuditLog.objects.filter(action="payment.state_change", resource_id=str(pending.pk)).count() == 1


def test_pending_payment_backs_off_between_checks(job_engine, pending, simulator, settings):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 30
    tasks.reconcile_pending_payments.defer(timestamp=_tick())
    job_engine.run()
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING
    checked_at = pending.last_reconciled_at
    assert checked_at is not None
    status_calls = [r for r in simulator.server.state.requests if "/order/" in r["path"]]

    # Checked 5 minutes after creation: the next check waits 5 minutes, so an immediate tick skips it.
    tasks.reconcile_pending_payments.defer(timestamp=_tick() + 1)
    job_engine.run()
    assert [r for r in simulator.server.state.requests if "/order/" in r["path"]] == status_calls
    pending.refresh_from_db()
    assert pending.last_reconciled_at == checked_at


def test_expired_order_without_a_final_answer_is_marked_failed(job_engine, pending, simulator):
    Payment.objects.filter(pk=pending.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 10})
    tasks.reconcile_payment.defer(payment_id=str(pending.pk))
    job_engine.run()

    pending.refresh_from_db()
    assert pending.status == PaymentStatus.FAILED
    assert pending.failure_reason == "expired"
    assert subscription_get_active(now=timezone.now(), user=pending.user) is None


def test_gateway_outage_before_expiry_is_retried_with_back_off(job_engine, pending, simulator):
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 10})
    tasks.reconcile_payment.defer(payment_id=str(pending.pk))
    job_engine.run()

    (job,) = job_engine.jobs("payments.reconcile_payment")
    assert job["status"] == "todo"  # waiting for its retry
    assert job["attempts"] == 1
    assert job["scheduled_at"] > timezone.now()
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING


def test_refund_deferred_in_the_decision_transaction_is_sent_once_and_finished(job_engine, paid, simulator, user):
    with transaction.atomic():
        refund = _outbox_refund(paid)
        assert tasks.defer_refund(refund) is True
        assert tasks.defer_refund(refund) is False  # already queued: not twice
    simulator.server.state.config["refund_auto_complete_seconds"] = 0
    job_engine.run()

    assert simulator.server.state.refunds[refund.merchant_refund_id].amount == paid.amount_paise
    refund_posts = [r for r in simulator.server.state.requests if r["path"].endswith("/payments/v2/refund")]
    assert len(refund_posts) == 1
    # PhonePe answered PENDING; the retry sweep asks again later and applies COMPLETED.
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(hours=1), last_reconciled_at=None)
    tasks.retry_unfinished_refunds.defer(timestamp=_tick())
    job_engine.run()
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert paid.status == PaymentStatus.REFUNDED
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert len([r for r in simulator.server.state.requests if r["path"].endswith("/payments/v2/refund")]) == 1


def test_refund_decision_rolled_back_leaves_no_job(job_engine, paid):
    def decide_then_crash():
        with transaction.atomic():
            tasks.defer_refund(_outbox_refund(paid))
            raise RuntimeError("the payment flow fails after deciding")

    with pytest.raises(RuntimeError):
        decide_then_crash()
    assert Refund.objects.count() == 0
    assert job_engine.jobs("payments.finish_refund") == []


def test_outbox_refund_written_without_a_job_is_found_by_the_sweep(job_engine, paid, simulator):
    refund = _outbox_refund(paid)
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(hours=1))
    tasks.retry_unfinished_refunds.defer(timestamp=_tick())
    job_engine.run()
    assert refund.merchant_refund_id in simulator.server.state.refunds
    refund.refresh_from_db()
    assert refund.gateway_refund_id


def test_refund_whose_answer_was_lost_is_completed_not_sent_again(job_engine, paid, simulator):
    refund = _outbox_refund(paid)
    # PhonePe took it, but our sender died before recording the answer: one attempt, not marked sent.
    simulator.server.state.config["refund_auto_complete_seconds"] = 0
    get_client().refund(
        merchant_refund_id=refund.merchant_refund_id,
        original_merchant_order_id=paid.merchant_order_id,
        amount_paise=refund.amount_paise,
    )
    Refund.objects.filter(pk=refund.pk).update(send_attempts=1, created_at=timezone.now() - timedelta(hours=1))
    posts_before = len([r for r in simulator.server.state.requests if r["path"].endswith("/payments/v2/refund")])
    time.sleep(0.2)  # the simulator completes it on a timer
    tasks.retry_unfinished_refunds.defer(timestamp=_tick())
    job_engine.run()

    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert paid.status == PaymentStatus.REFUNDED
    posts_after = len([r for r in simulator.server.state.requests if r["path"].endswith("/payments/v2/refund")])
    assert posts_after == posts_before


def test_webhook_event_left_unfinished_is_processed_again(job_engine, pending, simulator):
    simulator.complete(pending.merchant_order_id)
    event = WebhookEvent.objects.create(
        event_key=f"checkout.order.completed|{pending.merchant_order_id}||COMPLETED",
        event="checkout.order.completed",
        merchant_order_id=pending.merchant_order_id,
        state="COMPLETED",
        outcome=WebhookOutcome.STATUS_UNAVAILABLE,
        processed_at=timezone.now() - timedelta(hours=1),
    )
    tasks.reprocess_unfinished_webhooks.defer(timestamp=_tick())
    job_engine.run()

    event.refresh_from_db()
    pending.refresh_from_db()
    assert event.outcome == WebhookOutcome.APPLIED
    assert pending.status == PaymentStatus.SUCCESS

    # Final now: the next sweep leaves it alone.
    tasks.reprocess_unfinished_webhooks.defer(timestamp=_tick() + 120)
    job_engine.run()
    assert job_engine.statuses("payments.reprocess_webhook_event") == ["succeeded"]


def test_webhook_payloads_are_dropped_after_retention_rows_kept(job_engine, settings):
    settings.RETENTION_WEBHOOK_PAYLOAD_DAYS = 30
    old = WebhookEvent.objects.create(
        event_key="old", event="checkout.order.completed", payload={"state": "COMPLETED"}, outcome="applied"
    )
    unfinished = WebhookEvent.objects.create(
        event_key="open", event="checkout.order.completed", payload={"state": "COMPLETED"}, outcome="gateway_pending"
    )
    recent = WebhookEvent.objects.create(
        event_key="new", event="checkout.order.completed", payload={"state": "COMPLETED"}, outcome="applied"
    )
    WebhookEvent.objects.filter(pk__in=[old.pk, unfinished.pk]).update(received_at=timezone.now() - timedelta(days=31))
    tasks.purge_webhook_payloads.defer(timestamp=_tick())
    job_engine.run()

    old.refresh_from_db()
    unfinished.refresh_from_db()
    recent.refresh_from_db()
    assert old.payload == {}
    assert old.outcome == "applied"
    assert unfinished.payload == {"state": "COMPLETED"}
    assert recent.payload == {"state": "COMPLETED"}
