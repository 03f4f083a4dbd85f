"""Applying PhonePe's word on an order (from a callback, a read or a sweep) to our payment.

Nothing is granted on the word of a callback or a browser redirect: the order's state and amount come from
PhonePe's order-status API (docs/phonepe.md §11.1). No outbound HTTP while a row lock is held: the gateway is
asked first, then the state is applied in one short transaction that locks the payment row first
(lock order: payment -> refund -> user -> grants -> subscription).
"""

import logging
import uuid
from datetime import datetime

from django.db import transaction

from payments.fulfilment import Fulfilment, product_for
from payments.models import PAYMENT_MACHINE, Payment, WebhookEvent, WebhookOutcome
from payments.phonepe.client import OrderStatus
from payments.services.refunds import refund_open_automatic
from payments.services.transitions import P, move

logger = logging.getLogger("manas360.payments")


def payment_apply_order_status(
    *,
    payment_id: uuid.UUID,
    status: OrderStatus,
    claimed_state: str = "",
    now: datetime,
    event_id: uuid.UUID | None = None,
    refund_instead: str = "",
) -> str:
    """Apply PhonePe's order status to our payment in one transaction; returns the outcome.

    `claimed_state` is what an (unsigned) callback body said; it never decides anything, it only labels a late
    failure. Success asks the payment's product to fulfil it in the same transaction; a product that refuses
    (the payment would give nothing the user does not already hold) gets the payment refunded in full: the
    refund row is written here, in the same transaction, and sent after commit. `refund_instead` (a reason the
    user can read) is for a caller that already knows the money must go back whatever the product would say
    (an Autopay debit confirmed after the user turned Autopay off): the success is recorded and refunded the
    same way, without fulfilment.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("user").get(pk=payment_id)
        payment.last_reconciled_at = now
        fields = {"last_reconciled_at", "updated_at"}
        outcome, detail = _decide(payment, status, claimed_state, fields, refund_instead, now)
        payment.save(update_fields=sorted(fields))
        if event_id is not None:
            WebhookEvent.objects.filter(pk=event_id).update(
                outcome=outcome, detail=detail[:500], payment=payment, processed_at=now
            )
    return outcome


def _decide(
    payment: Payment, status: OrderStatus, claimed_state: str, fields: set[str], refund_instead: str, now: datetime
) -> tuple[str, str]:
    if status.merchant_order_id != payment.merchant_order_id or (
        payment.gateway_order_id and status.order_id and status.order_id != payment.gateway_order_id
    ):
        logger.error("gateway order does not match payment", extra={"payment_id": str(payment.pk)})
        return WebhookOutcome.REJECTED_ORDER_MISMATCH, "order id differs from ours"
    if status.state == "COMPLETED":
        if status.amount != payment.amount_paise:
            logger.error(
                "gateway amount does not match payment",
                extra={
                    "payment_id": str(payment.pk),
                    "expected": payment.amount_paise,
                    "gateway_amount": status.amount,
                },
            )
            if PAYMENT_MACHINE.can(payment, P.FAILED):
                move(payment, P.FAILED, now=now, reason="amount_mismatch")
                fields.update({"status", "failure_reason"})
            return WebhookOutcome.REJECTED_AMOUNT_MISMATCH, f"gateway amount {status.amount} != {payment.amount_paise}"
        if payment.status in (P.SUCCESS, P.REFUNDED):
            if claimed_state == "FAILED":
                return WebhookOutcome.IGNORED_LATE_FAILURE, "callback claimed FAILED; gateway reports COMPLETED"
            return WebhookOutcome.ALREADY_APPLIED, ""
        move(payment, P.SUCCESS, now=now)
        payment.gateway_state = "COMPLETED"
        payment.payment_mode = status.payment_mode
        fields.update({"status", "completed_at", "failure_reason", "gateway_state", "payment_mode"})
        _fulfil(payment, fields, now, refund_instead)
        return WebhookOutcome.APPLIED, ""
    if status.state == "FAILED":
        if payment.status == P.PENDING:
            move(payment, P.FAILED, now=now, reason=status.error_code or "gateway_failed")
            payment.gateway_state = "FAILED"
            fields.update({"status", "failure_reason", "gateway_state"})
            return WebhookOutcome.APPLIED, ""
        if payment.status in (P.SUCCESS, P.REFUNDED):
            logger.warning("late failure after success ignored", extra={"payment_id": str(payment.pk)})
            return WebhookOutcome.IGNORED_LATE_FAILURE, "gateway reports FAILED after success"
        return WebhookOutcome.ALREADY_APPLIED, ""
    if payment.status in (P.SUCCESS, P.REFUNDED) and claimed_state == "FAILED":
        return WebhookOutcome.IGNORED_LATE_FAILURE, "callback claimed FAILED after success"
    return WebhookOutcome.GATEWAY_PENDING, f"gateway state {status.state or 'unknown'}"


def _fulfil(payment: Payment, fields: set[str], now: datetime, refund_instead: str = "") -> None:
    """Grant what was bought, or refund in full what buys nothing (docs/payments.md, rules)."""
    if refund_instead:
        result = Fulfilment.refused(refund_instead)
    else:
        result = product_for(payment.product).fulfil(payment=payment, now=now)
    if result.granted:
        return
    logger.info("payment refused by its product; refunding", extra={"payment_id": str(payment.pk)})
    refund_open_automatic(payment=payment, reason=result.reason)
    fields.add("refund_reason")
