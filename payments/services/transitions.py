"""The one place a payment's status changes, along `payments.models.PAYMENT_TRANSITIONS`.

pending -> success|failed; failed -> success (a late COMPLETED confirmed by the status API is honoured:
the user paid, docs/phonepe.md §11.7); success -> refunded. Each move is audited as `payment.state_change`.
A move the table refuses raises `TransitionRefused` and writes nothing: callers for whom "already moved" is
normal (replayed callbacks, jobs) ask `PAYMENT_MACHINE.can` first.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from accounts.audit import audit_log_record
from accounts.models import User
from payments.models import PAYMENT_MACHINE, Payment, PaymentStatus, RefundStatus

logger = logging.getLogger("manas360.payments")

P = PaymentStatus
OPEN_REFUND_STATUSES = [RefundStatus.PENDING, RefundStatus.CONFIRMED, RefundStatus.COMPLETED]
SYSTEM_ACTOR = "system:phonepe"


def new_gateway_id(prefix: str) -> str:
    """≤ 63 chars of [A-Za-z0-9_-], opaque (no personal or health data: docs/phonepe.md §11.9)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def move(
    payment: Payment,
    to_status: str,
    *,
    now: datetime,
    actor: User | None = None,
    reason: str = "",
    **audit_context: Any,
) -> None:
    """Move `payment` to `to_status` (caller saves it). `TransitionRefused`, nothing changed, for an illegal move."""
    from_status = PAYMENT_MACHINE.transition(payment, to_status)
    if to_status == P.SUCCESS:
        payment.completed_at = now
        payment.failure_reason = ""
    elif to_status == P.FAILED:
        payment.failure_reason = reason[:255]
    elif to_status == P.REFUNDED:
        payment.refunded_at = now
    audit_log_record(
        action="payment.state_change",
        actor=actor,
        actor_email=None if actor is not None else SYSTEM_ACTOR,
        resource_type="payment",
        resource_id=payment.pk,
        before={"status": from_status},
        after={"status": to_status, **({"reason": reason} if reason else {})},
        **audit_context,
    )
    logger.info(
        "payment state change",
        extra={"payment_id": str(payment.pk), "from_status": from_status, "to_status": to_status, "reason": reason},
    )
