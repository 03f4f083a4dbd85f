"""Background reconciliation with PhonePe: what the periodic jobs in payments/tasks.py do.

Each function handles one row and is idempotent: it reads the gateway's word first and
applies it through the same locked, forward-only services the webhook uses, so running it
twice, or again after a crash half-way, changes nothing the first run did not.

* Pending payments: the payments services' own `payment_reconcile` and
  `payments_due_for_reconciliation` (payments/services/reconcile.py, shared with the read path).
* Refunds: `refund_finish` sends one refund decided in a payment flow (its Refund row is the
  outbox) or asks about one in flight, through the refund services; the periodic sweep is the
  refund services' own `refunds_retry`.
* Webhook events whose outcome is not final (`webhook_unfinished`) are processed again, whatever their
  type: checkout and refund events by payments, Autopay's (setup, notification, redemption, mandate state)
  by the handler registered for them.
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.services import (
    ORDER_EVENTS,
    REFUND_EVENTS,
    refund_check,
    refund_send,
    webhook_event_finish,
    webhook_order_event_process,
    webhook_refund_event_process,
    webhook_registered_event_process,
    webhook_unfinished,
)

logger = logging.getLogger("manas360.payments")


# --- refunds ------------------------------------------------------------------------------


def refund_finish(*, refund_id: str, now: datetime) -> str:
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
            return refund_send(refund_id=refund.pk, now=now).status
        except GatewayRejected:
            return "rejected"  # marked failed and audited by refund_send
    if refund.status == RefundStatus.CONFIRMED:
        outcome = refund_check(refund_id=refund.pk, now=now)
        if outcome is None:
            raise GatewayUnavailable()
        return outcome
    return "already_final"


# --- webhook events ------------------------------------------------------------------


def webhook_events_due_for_reprocessing(*, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    idle = now - timedelta(seconds=settings.WEBHOOK_REPROCESS_AFTER_SECONDS)
    oldest = now - timedelta(days=settings.WEBHOOK_REPROCESS_GIVE_UP_AFTER_DAYS)
    return list(
        WebhookEvent.objects.filter(webhook_unfinished(), received_at__gte=oldest)
        .filter(Q(processed_at__isnull=True, received_at__lte=idle) | Q(processed_at__lte=idle))
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_event_reprocess(*, event_id: uuid.UUID | str, now: datetime) -> str:
    """Confirm a stored event with PhonePe again and apply it (the same path as the webhook itself)."""
    event_row = WebhookEvent.objects.filter(webhook_unfinished(), pk=event_id).first()
    if event_row is None:
        return "already_final"
    # Mark it as being handled, so a concurrent replay of the callback is answered as a duplicate.
    WebhookEvent.objects.filter(pk=event_row.pk).update(outcome=WebhookOutcome.RECEIVED, processed_at=now)
    if event_row.event in ORDER_EVENTS:
        return webhook_order_event_process(
            event_row, merchant_order_id=event_row.merchant_order_id, claimed_state=event_row.state, now=now
        )
    if event_row.event in REFUND_EVENTS:
        return webhook_refund_event_process(event_row, merchant_refund_id=event_row.merchant_refund_id, now=now)
    outcome = webhook_registered_event_process(event_row, now=now)
    if outcome is not None:
        return outcome
    webhook_event_finish(event_row.pk, WebhookOutcome.IGNORED, f"event {event_row.event} not handled", now=now)
    return WebhookOutcome.IGNORED
