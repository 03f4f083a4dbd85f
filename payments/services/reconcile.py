"""Asking PhonePe about payments we have not heard back about (docs/api.md §5 GET /payments/:id, docs/phonepe.md §4.2).

A lost callback must not leave a payment pending forever, and a busy reader must not hammer PhonePe: a
payment is asked about only once it is `PAYMENT_RECONCILE_AFTER_SECONDS` old, and then at most once per
`PAYMENT_RECONCILE_INTERVAL_SECONDS`, whoever reads it and however many read it at once
(`last_reconciled_at` is claimed with a conditional UPDATE before the call).
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from payments.models import Payment, Refund, RefundStatus
from payments.phonepe.client import PhonePeError, PhonePeNotFound, get_client
from payments.services.orders import payment_apply_order_status
from payments.services.refunds import refund_check
from payments.services.transitions import P

logger = logging.getLogger("manas360.payments")


def _claim(model: type[Payment] | type[Refund], pk: uuid.UUID, *, now: datetime, extra: Q) -> bool:
    """Take this interval's one gateway call for the row; False when another reader already took it."""
    due = Q(last_reconciled_at__isnull=True) | Q(
        last_reconciled_at__lte=now - timedelta(seconds=settings.PAYMENT_RECONCILE_INTERVAL_SECONDS)
    )
    return bool(model.objects.filter(due, extra, pk=pk).update(last_reconciled_at=now))


def payment_reconcile_if_stale(*, payment: Payment, now: datetime | None = None) -> bool:
    """Ask the gateway about a stale pending payment (or its refund in flight). Returns True if it asked."""
    now = now or timezone.now()
    old_enough = now - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    asked = False
    stale_pending = payment.status == P.PENDING and payment.created_at <= old_enough
    if stale_pending and _claim(Payment, payment.pk, now=now, extra=Q(status=P.PENDING)):
        asked = True
        payment_reconcile(payment=payment)
    if payment.status == P.SUCCESS:
        in_flight = payment.refunds.filter(
            status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED], created_at__lte=old_enough
        ).values_list("pk", flat=True)
        for refund_id in in_flight:
            if _claim(Refund, refund_id, now=now, extra=Q(sent_at__isnull=False)):
                asked = True
                refund_check(refund_id=refund_id)
    return asked


def payment_reconcile(*, payment: Payment) -> str | None:
    """Ask PhonePe about one order and apply its answer (unthrottled: callers throttle). None if not asked."""
    try:
        status = get_client().get_order_status(merchant_order_id=payment.merchant_order_id)
    except PhonePeNotFound:
        logger.warning("pending payment unknown to the gateway", extra={"payment_id": str(payment.pk)})
        return None
    except PhonePeError:
        logger.warning("reconciliation skipped: gateway unavailable", extra={"payment_id": str(payment.pk)})
        return None
    return payment_apply_order_status(payment_id=payment.pk, status=status)


def payments_reconcile_pending(*, now: datetime | None = None, limit: int = 100) -> int:
    """The body of the periodic job: reconcile every stale pending payment once per interval. Returns how many."""
    now = now or timezone.now()
    old_enough = now - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    asked = 0
    for payment in Payment.objects.filter(status=P.PENDING, created_at__lte=old_enough).order_by("created_at")[:limit]:
        if _claim(Payment, payment.pk, now=now, extra=Q(status=P.PENDING)):
            asked += 1
            payment_reconcile(payment=payment)
    return asked
