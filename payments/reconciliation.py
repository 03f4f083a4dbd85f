"""Background reconciliation with PhonePe: what the periodic jobs in payments/tasks.py do.

Each function handles one row and is idempotent: it reads the gateway's word first and
applies it through the same locked, forward-only services the webhook uses, so running it
twice, or again after a crash half-way, changes nothing the first run did not.

* Pending payments: asked about with a back-off (the wait doubles with the payment's
  age, from PAYMENT_RECONCILE_AFTER_SECONDS up to PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS);
  past the order's expiry with no final answer from PhonePe they are marked failed
  (`expired`). A COMPLETED that arrives later is still honoured (failed -> success).
* Refunds: `refund_finish` sends one refund decided in a payment flow (its Refund row is the
  outbox) or asks about one in flight, through the refund services; the periodic sweep is the
  refund services' own `refunds_retry`.
* Webhook events whose outcome is not final are processed again.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.phonepe.client import PhonePeError, PhonePeNotFound, get_client
from payments.services import payment_apply_order_status, refund_check, refund_send
from payments.services import webhook as webhook_services
from payments.services.transitions import move

logger = logging.getLogger("manas360.payments")

# Gateway states that leave a payment pending.
_STILL_OPEN = {"PENDING", ""}
UNFINISHED_WEBHOOK_OUTCOMES = [
    WebhookOutcome.RECEIVED,  # the process handling it died before recording an outcome
    WebhookOutcome.STATUS_UNAVAILABLE,
    WebhookOutcome.GATEWAY_PENDING,
]


# --- pending payments ---------------------------------------------------------------


def _reconcile_interval(payment: Payment) -> timedelta:
    """Back-off: ask again after as long as the payment had waited at the previous check."""
    first = timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    cap = timedelta(seconds=settings.PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS)
    if payment.last_reconciled_at is None:
        return first
    return min(max(payment.last_reconciled_at - payment.created_at, first), cap)


def payments_due_for_reconciliation(*, now=None, limit: int = 500) -> list:
    """Ids of pending payments whose next check is due (or whose order has expired)."""
    now = now or timezone.now()
    first = now - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    candidates = (
        Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lte=first)
        .only("pk", "created_at", "last_reconciled_at", "expires_at")
        .order_by("created_at")[: limit * 4]
    )
    due = []
    for payment in candidates:
        expired = payment.expires_at is not None and payment.expires_at <= now
        checked = payment.last_reconciled_at
        if expired or checked is None or checked + _reconcile_interval(payment) <= now:
            due.append(payment.pk)
        if len(due) >= limit:
            break
    return due


def payment_reconcile(*, payment_id, now=None) -> str:
    """Ask PhonePe about one pending payment and apply the answer; expire it past its expiry.

    Returns what happened. A gateway outage raises PhonePeUnavailable (the job retries)
    unless the order has expired, in which case the payment is marked failed anyway.
    """
    now = now or timezone.now()
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status != PaymentStatus.PENDING:
        return "not_pending"
    expired = payment.expires_at is not None and payment.expires_at <= now
    try:
        status = get_client().get_order_status(merchant_order_id=payment.merchant_order_id)
    except PhonePeNotFound:
        status = None
    except PhonePeError:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(last_reconciled_at=now)
        if not expired:
            raise
        status = None
    if status is not None and status.state not in _STILL_OPEN:
        return payment_apply_order_status(payment_id=payment.pk, status=status)
    if expired:
        return payment_mark_expired(payment_id=payment.pk)
    Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(last_reconciled_at=now)
    return WebhookOutcome.GATEWAY_PENDING


@transaction.atomic
def payment_mark_expired(*, payment_id) -> str:
    """Past the order's expiry, still pending at PhonePe (or unknown to it): failed, reason `expired`."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if not move(payment, PaymentStatus.FAILED, reason="expired"):
        return "not_pending"
    payment.last_reconciled_at = timezone.now()
    payment.save(update_fields=["status", "failure_reason", "last_reconciled_at", "updated_at"])
    return "expired"


# --- refunds ------------------------------------------------------------------------------


def refund_finish(*, refund_id: str) -> str:
    """Send a refund decided but not sent (the outbox row), or ask PhonePe about one in flight, and apply
    the answer. The refund services do the work (payments/services/refunds.py): an unsent row is claimed
    before the request (one sender of two), a row sent before is asked about first and re-sent with the
    SAME merchantRefundId only if PhonePe does not have it. Raises GatewayUnavailable when PhonePe cannot
    be reached (the job retries with back-off)."""
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        return "missing"
    if refund.status == RefundStatus.PENDING:
        try:
            return refund_send(refund_id=refund.pk).status
        except GatewayRejected:
            return "rejected"  # marked failed and audited by refund_send
    if refund.status == RefundStatus.CONFIRMED:
        outcome = refund_check(refund_id=refund.pk)
        if outcome is None:
            raise GatewayUnavailable()
        return outcome
    return "already_final"


# --- webhook events ------------------------------------------------------------------


def webhook_events_due_for_reprocessing(*, now=None, limit: int = 500) -> list:
    now = now or timezone.now()
    idle = now - timedelta(seconds=settings.WEBHOOK_REPROCESS_AFTER_SECONDS)
    oldest = now - timedelta(days=settings.WEBHOOK_REPROCESS_GIVE_UP_AFTER_DAYS)
    return list(
        WebhookEvent.objects.filter(outcome__in=UNFINISHED_WEBHOOK_OUTCOMES, received_at__gte=oldest)
        .filter(Q(processed_at__isnull=True, received_at__lte=idle) | Q(processed_at__lte=idle))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_event_reprocess(*, event_id) -> str:
    """Confirm a stored event with PhonePe again and apply it (the same path as the webhook itself)."""
    event_row = WebhookEvent.objects.filter(pk=event_id, outcome__in=UNFINISHED_WEBHOOK_OUTCOMES).first()
    if event_row is None:
        return "already_final"
    # Mark it as being handled, so a concurrent replay of the callback is answered as a duplicate.
    WebhookEvent.objects.filter(pk=event_row.pk).update(outcome=WebhookOutcome.RECEIVED, processed_at=timezone.now())
    if event_row.event in webhook_services.ORDER_EVENTS:
        return webhook_services._process_order_event(
            event_row, merchant_order_id=event_row.merchant_order_id, claimed_state=event_row.state
        )
    if event_row.event in webhook_services.REFUND_EVENTS:
        return webhook_services._process_refund_event(event_row, merchant_refund_id=event_row.merchant_refund_id)
    webhook_services._webhook_event_finish(event_row.pk, WebhookOutcome.IGNORED, f"event {event_row.event} not handled")
    return WebhookOutcome.IGNORED
