"""Asking PhonePe about payments we have not heard back about (docs/payments.md "Reconciliation").

One place asks about one pending payment and applies the answer, expiring it past its order's expiry:
`payment_reconcile`. Two callers decide when:

* a read (GET /payments/:id, the development result page) through `payment_reconcile_if_stale`: only once
  the payment is `PAYMENT_RECONCILE_AFTER_SECONDS` old, then at most once per
  `PAYMENT_RECONCILE_INTERVAL_SECONDS` however many read it at once (`last_reconciled_at` is claimed with a
  conditional UPDATE before the call), and a gateway outage only means the reader sees the row as it is;
* the periodic job (payments/tasks.py) through `payments_due_for_reconciliation`: with a back-off (the wait
  doubles with the payment's age, from PAYMENT_RECONCILE_AFTER_SECONDS up to
  PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS); a gateway outage raises, so the job retries.

Past the order's expiry with no final answer from PhonePe a payment is marked failed (`expired`); a COMPLETED
that arrives later is still honoured (failed -> success).
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from payments.models import PAYMENT_MACHINE, Payment, Refund, RefundStatus, WebhookOutcome
from payments.phonepe.client import OrderStatus, PhonePeError, PhonePeNotFound, get_client
from payments.services.orders import payment_apply_order_status
from payments.services.refunds import refund_check
from payments.services.transitions import P, move

logger = logging.getLogger("manas360.payments")

# Gateway states that leave a payment pending.
_STILL_OPEN = {"PENDING", ""}


def payment_reconcile(*, payment_id: uuid.UUID | str, now: datetime) -> str:
    """Ask PhonePe about one pending payment and apply the answer; expire it past its expiry.

    Unthrottled: callers decide when. Returns what happened. A gateway outage raises PhonePeError
    (after noting the check) unless the order has expired, in which case the payment is marked failed anyway.
    """
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status != P.PENDING:
        return "not_pending"
    expired = payment.expires_at is not None and payment.expires_at <= now
    status: OrderStatus | None
    try:
        status = get_client().get_order_status(merchant_order_id=payment.merchant_order_id)
    except PhonePeNotFound:
        logger.warning("pending payment unknown to the gateway", extra={"payment_id": str(payment.pk)})
        status = None
    except PhonePeError:
        _note_checked(payment, now)
        if not expired:
            raise
        status = None
    if status is not None and status.state not in _STILL_OPEN:
        return payment_apply_order_status(payment_id=payment.pk, status=status, now=now)
    if expired:
        return payment_mark_expired(payment_id=payment.pk, now=now)
    _note_checked(payment, now)
    return WebhookOutcome.GATEWAY_PENDING


def _note_checked(payment: Payment, now: datetime) -> None:
    Payment.objects.filter(pk=payment.pk, status=P.PENDING).update(last_reconciled_at=now)


@transaction.atomic
def payment_mark_expired(*, payment_id: uuid.UUID, now: datetime) -> str:
    """Past the order's expiry, still pending at PhonePe (or unknown to it): failed, reason `expired`."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if not PAYMENT_MACHINE.can(payment, P.FAILED):
        return "not_pending"
    move(payment, P.FAILED, now=now, reason="expired")
    payment.last_reconciled_at = now
    payment.save(update_fields=["status", "failure_reason", "last_reconciled_at", "updated_at"])
    return "expired"


# --- the read path: throttled ---------------------------------------------------------------


def _claim(model: type[Payment] | type[Refund], pk: uuid.UUID, *, now: datetime, extra: Q) -> bool:
    """Take this interval's one gateway call for the row; False when another reader already took it."""
    due = Q(last_reconciled_at__isnull=True) | Q(
        last_reconciled_at__lte=now - timedelta(seconds=settings.PAYMENT_RECONCILE_INTERVAL_SECONDS)
    )
    return bool(model.objects.filter(due, extra, pk=pk).update(last_reconciled_at=now))


def payment_reconcile_if_stale(*, payment: Payment, now: datetime) -> bool:
    """Ask the gateway about a stale pending payment (or its refund in flight). Returns True if it asked."""
    old_enough = now - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    asked = False
    stale_pending = payment.status == P.PENDING and payment.created_at <= old_enough
    if stale_pending and _claim(Payment, payment.pk, now=now, extra=Q(status=P.PENDING)):
        asked = True
        try:
            payment_reconcile(payment_id=payment.pk, now=now)
        except PhonePeError:
            logger.warning("reconciliation skipped: gateway unavailable", extra={"payment_id": str(payment.pk)})
    if payment.status == P.SUCCESS:
        in_flight = payment.refunds.filter(
            status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED], created_at__lte=old_enough
        ).values_list("pk", flat=True)
        for refund_id in in_flight:
            if _claim(Refund, refund_id, now=now, extra=Q(sent_at__isnull=False)):
                asked = True
                refund_check(refund_id=refund_id, now=now)
    return asked


# --- the periodic job: back-off -------------------------------------------------------------


def _reconcile_interval(payment: Payment) -> timedelta:
    """Back-off: ask again after as long as the payment had waited at the previous check."""
    first = timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    cap = timedelta(seconds=settings.PAYMENT_RECONCILE_MAX_INTERVAL_SECONDS)
    if payment.last_reconciled_at is None:
        return first
    return min(max(payment.last_reconciled_at - payment.created_at, first), cap)


def payments_due_for_reconciliation(*, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Ids of pending payments whose next check is due (or whose order has expired)."""
    first = now - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    candidates = (
        Payment.objects.filter(status=P.PENDING, created_at__lte=first)
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
