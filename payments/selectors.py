"""Reads of payments, always scoped by owner (admins: any)."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from payments.errors import PaymentNotFound
from payments.fulfilment import products_prefetch
from payments.models import Payment, PaymentStatus


def _base() -> QuerySet[Payment]:
    return Payment.objects.prefetch_related(*products_prefetch())


def payment_get(*, transaction_id: object, user: User, is_admin: bool = False) -> Payment:
    """By our merchantOrderId (= transactionId) or the payment UUID. Others' and malformed ids are 404."""
    identifier = str(transaction_id or "").strip()
    queryset = _base() if is_admin else _base().filter(user=user)
    payment: Payment | None = None
    if identifier and len(identifier) <= 63:
        payment = queryset.filter(merchant_order_id=identifier).first()
    if payment is None:
        try:
            payment_uuid = uuid.UUID(identifier)
        except ValueError:
            raise PaymentNotFound() from None
        payment = queryset.filter(pk=payment_uuid).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_list(*, user: User) -> QuerySet[Payment]:
    return _base().filter(user=user).order_by("-created_at")


def payments_pending_past_expiry(*, now: datetime) -> QuerySet[Payment]:
    """Payments still pending JOBS_OVERDUE_AFTER_MINUTES after their order expired at PhonePe.

    The reconciliation sweep settles a pending payment at the latest on its first run after the expiry
    (PhonePe's final word, else failed `expired`), so one listed here means that job is not running or
    cannot finish (/metrics `payments_pending_past_expiry`, the admin's "pending past expiry" filter).
    """
    late = now - timedelta(minutes=settings.JOBS_OVERDUE_AFTER_MINUTES)
    return Payment.objects.filter(status=PaymentStatus.PENDING, expires_at__lt=late)
