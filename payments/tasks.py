"""Background jobs of payments (docs/jobs.md). The work itself is in the payments services
(payments/services/reconcile.py), payments/reconciliation.py and payments/retention.py; these only
schedule it, one job per row.

Per-row jobs carry `lock="<kind>:<id>"`, so two jobs about the same row never run at the same
time (a periodic sweep and a job deferred by a payment flow, or a job re-run after a crash),
and a sweep does not queue a job for a row that already has one waiting or running
(`manas360.jobs.defer_once`; never procrastinate's `queueing_lock`, see there).
"""

import logging

from django.utils import timezone
from procrastinate.contrib.django import app

from manas360.jobs import GATEWAY_RETRY, defer_once, periodic_database_job, schedule
from payments import audit, reconciliation, retention
from payments.models import Payment, Refund
from payments.services import payment_reconcile, payments_due_for_reconciliation, refunds_retry

logger = logging.getLogger("manas360.payments")


# --- pending payments -----------------------------------------------------------------------


@app.task(name="payments.reconcile_payment", queue="payments", retry=GATEWAY_RETRY)
def reconcile_payment(payment_id: str) -> str:
    return payment_reconcile(payment_id=payment_id, now=timezone.now())


def defer_reconcile(payment: Payment) -> bool:
    """Queue `payments.reconcile_payment` for a pending payment (at most one waiting per payment)."""
    return defer_once(reconcile_payment, lock=f"payment:{payment.pk}", payment_id=str(payment.pk))


@app.periodic(cron=schedule("payments.reconcile_pending_payments", "* * * * *"))
@app.task(name="payments.reconcile_pending_payments", queue="payments", lock="payments.reconcile_pending")
def reconcile_pending_payments(timestamp: int) -> int:
    """Every minute: one `payments.reconcile_payment` job per pending payment whose check is due."""
    ids = payments_due_for_reconciliation(now=timezone.now())
    return sum(defer_reconcile(Payment(pk=pk)) for pk in ids)


# --- refunds -----------------------------------------------------------------------------------


@app.task(name="payments.finish_refund", queue="payments", retry=GATEWAY_RETRY)
def finish_refund(refund_id: str) -> str:
    """Send a refund decided in a payment flow, or ask about one in flight, and apply PhonePe's answer.

    A payment flow that decides a refund writes the Refund row (`pending`, the outbox) and may defer
    this job in the same transaction (`defer_refund`); if it does not, the sweep below finds the row.
    """
    return reconciliation.refund_finish(refund_id=refund_id, now=timezone.now())


def defer_refund(refund: Refund) -> bool:
    """Queue `payments.finish_refund` for a Refund row; call it inside the transaction that wrote the row."""
    return defer_once(finish_refund, lock=f"refund:{refund.pk}", refund_id=str(refund.pk))


@app.periodic(cron=schedule("payments.retry_unfinished_refunds", "* * * * *"))
@app.task(name="payments.retry_unfinished_refunds", queue="payments", lock="payments.retry_refunds")
def retry_unfinished_refunds(timestamp: int) -> int:
    """Every minute: the refund outbox sweep (`refunds_retry`): refunds decided but not sent are sent,
    refunds in flight are asked about, automatic refunds PhonePe failed are opened again (a bounded number
    of times). Each row at most once per PAYMENT_RECONCILE_INTERVAL_SECONDS."""
    return refunds_retry(now=timezone.now())


# --- webhook events ------------------------------------------------------------------------------


@app.task(name="payments.reprocess_webhook_event", queue="payments", retry=GATEWAY_RETRY)
def reprocess_webhook_event(event_id: str) -> str:
    return reconciliation.webhook_event_reprocess(event_id=event_id, now=timezone.now())


@app.periodic(cron=schedule("payments.reprocess_unfinished_webhooks", "*/2 * * * *"))
@app.task(name="payments.reprocess_unfinished_webhooks", queue="payments", lock="payments.reprocess_webhooks")
def reprocess_unfinished_webhooks(timestamp: int) -> int:
    """Every 2 minutes: stored callbacks whose outcome is not final (received, status unavailable, gateway pending)."""
    ids = reconciliation.webhook_events_due_for_reprocessing(now=timezone.now())
    return sum(defer_once(reprocess_webhook_event, lock=f"webhook:{pk}", event_id=str(pk)) for pk in ids)


# --- the audit with PhonePe -------------------------------------------------------------------------


@app.periodic(cron=schedule("payments.reconciliation_audit", "40 * * * *"))
@app.task(name="payments.reconciliation_audit", queue="payments", lock="payments.reconciliation_audit")
def reconciliation_audit(timestamp: int) -> dict[str, int]:
    """Every hour: every order, redemption and refund of the last RECONCILIATION_AUDIT_DAYS compared with
    PhonePe's word; disagreements repaired by the normal paths or raised for staff (payments/audit.py).
    No retry: a run that PhonePe cut short says so, and the next hour's run checks everything again."""
    run = audit.reconciliation_audit(now=timezone.now())
    return {count: run.total(count) for count in audit.AUDIT_COUNTS}


# --- retention ---------------------------------------------------------------------------------------


@periodic_database_job("payments.purge_webhook_payloads", "40 2 * * *")
def purge_webhook_payloads(timestamp: int) -> int:
    return retention.webhook_payloads_purge(now=timezone.now())


@periodic_database_job("payments.purge_reconciliation_audits", "50 2 * * *")
def purge_reconciliation_audits(timestamp: int) -> int:
    return retention.reconciliation_audits_purge(now=timezone.now())
