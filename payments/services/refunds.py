"""Refunds: decided in a transaction (the Refund row is the outbox), sent to PhonePe after it, idempotently.

* `refund_open` writes the pending row and its audit row inside the caller's transaction.
* `refund_send(refund_id)` sends one refund with its own `merchant_refund_id`, or, if it was sent before
  (our call may have timed out after PhonePe took it), asks PhonePe first and applies what it says.
  Safe to call any number of times, from any process: the job sweep calls it for every stale refund.
* `payment_apply_refund_status` applies PhonePe's refund status; COMPLETED takes back what the payment
  bought (the product's `revoke`) in the same transaction.
"""

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import User
from payments.errors import GatewayRejected, GatewayUnavailable, PaymentNotFound, PaymentNotRefundable, RefundInProgress
from payments.fulfilment import product_for
from payments.models import PAYMENT_MACHINE, Payment, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.phonepe.client import PhonePeError, PhonePeNotFound, PhonePeUnavailable, get_client
from payments.phonepe.client import RefundStatus as GatewayRefundStatus
from payments.services.transitions import OPEN_REFUND_STATUSES, SYSTEM_ACTOR, P, move, new_gateway_id

logger = logging.getLogger("manas360.payments")

# A payment whose automatic refund PhonePe failed this many times is left to an operator (logged at error level)
# rather than retried forever.
MAX_AUTOMATIC_REFUND_ATTEMPTS = 3


def refund_open(
    *, payment: Payment, reason: str, automatic: bool, actor: User | None = None, **audit_context: Any
) -> Refund:
    """Write a full refund of `payment` (pending, not yet sent) and its audit row. Caller holds the payment lock."""
    if payment.status != P.SUCCESS:
        raise PaymentNotRefundable()
    if payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).exists():
        raise RefundInProgress()
    refund = Refund.objects.create(
        payment=payment,
        merchant_refund_id=new_gateway_id("R360"),
        amount_paise=payment.amount_paise,
        reason=(reason or "")[:500],
        requested_by=actor,
        automatic=automatic,
    )
    audit_log_record(
        action="payment.refund",
        actor=actor,
        actor_email=None if actor is not None else SYSTEM_ACTOR,
        resource_type="payment",
        resource_id=payment.pk,
        before={"status": payment.status},
        after={
            "refund_status": "requested",
            "merchant_refund_id": refund.merchant_refund_id,
            "reason": reason,
            "automatic": automatic,
        },
        **audit_context,
    )
    return refund


def refund_open_automatic(*, payment: Payment, reason: str) -> Refund | None:
    """Decide the automatic full refund of a successful payment that buys the user nothing (docs/payments.md,
    rules 3 and 6): the reason on the payment (`refundReason`), the pending refund and its audit row, sent after
    commit; `refunds_retry` sends it if that fails and opens it again if PhonePe fails it.

    Caller holds the payment's row lock in a transaction. None (nothing written) when the payment is not
    successful or a refund of it is already open or done: that refund already returns the money.
    """
    if payment.status != P.SUCCESS or payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).exists():
        return None
    payment.refund_reason = reason[:255]
    payment.save(update_fields=["refund_reason", "updated_at"])
    refund = refund_open(payment=payment, reason=reason, automatic=True)
    logger.info("automatic refund decided", extra={"payment_id": str(payment.pk)})
    refund_send_after_commit(refund.pk)
    return refund


def refund_send_after_commit(refund_id: uuid.UUID) -> None:
    """Try to send the refund as soon as the deciding transaction commits; the sweep retries if this fails."""

    def send() -> None:
        # A failure is recorded on the row; `refunds_retry` picks it up.
        with contextlib.suppress(GatewayUnavailable, GatewayRejected):
            # Runs after the deciding transaction, as a unit of work of its own: its own `now`.
            refund_send(refund_id=refund_id, now=timezone.now())

    transaction.on_commit(send)


def refund_send(*, refund_id: uuid.UUID, now: datetime) -> Refund:
    """Send one pending refund to PhonePe, or find out what became of it. Idempotent.

    Raises GatewayUnavailable (will be retried; the row stays pending) or GatewayRejected (PhonePe refused
    the request: the refund is marked failed and audited).
    """
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    client = get_client()
    if refund.sent_at is not None or refund.send_attempts:
        # It may already be at PhonePe (a lost response): ask before sending again (docs/phonepe.md §5, §11.6).
        try:
            status = client.get_refund_status(merchant_refund_id=refund.merchant_refund_id)
        except PhonePeNotFound:
            pass
        except PhonePeError as exc:
            raise GatewayUnavailable() from exc
        else:
            _mark_sent(refund, gateway_refund_id=status.refund_id, now=now)
            payment_apply_refund_status(refund_id=refund.pk, status=status, now=now)
            return Refund.objects.get(pk=refund.pk)
    # Claim this attempt: of two concurrent senders (after-commit hook and sweep) only one posts.
    claimed = Refund.objects.filter(
        pk=refund.pk, status=RefundStatus.PENDING, send_attempts=refund.send_attempts
    ).update(send_attempts=F("send_attempts") + 1, updated_at=now)
    if not claimed:
        return Refund.objects.get(pk=refund.pk)
    try:
        result = client.refund(
            merchant_refund_id=refund.merchant_refund_id,
            original_merchant_order_id=refund.payment.merchant_order_id,
            amount_paise=refund.amount_paise,
        )
    except PhonePeError as exc:
        logger.error("refund request failed", extra={"refund_id": str(refund.pk), "error_class": type(exc).__name__})
        if isinstance(exc, PhonePeUnavailable):
            raise GatewayUnavailable() from exc
        _refund_rejected(refund_id=refund.pk)
        raise GatewayRejected() from exc
    _mark_sent(refund, gateway_refund_id=result.refund_id, now=now)
    if result.state in ("COMPLETED", "FAILED", "CONFIRMED"):
        payment_apply_refund_status(
            refund_id=refund.pk,
            status=GatewayRefundStatus(
                merchant_refund_id=refund.merchant_refund_id,
                original_merchant_order_id=refund.payment.merchant_order_id,
                refund_id=result.refund_id,
                amount=result.amount,
                state=result.state,
            ),
            now=now,
        )
    return Refund.objects.get(pk=refund.pk)


def _mark_sent(refund: Refund, *, gateway_refund_id: str, now: datetime) -> None:
    Refund.objects.filter(pk=refund.pk, sent_at__isnull=True).update(sent_at=now, updated_at=now)
    if gateway_refund_id:
        Refund.objects.filter(pk=refund.pk, gateway_refund_id="").update(gateway_refund_id=gateway_refund_id[:100])


@transaction.atomic
def _refund_rejected(*, refund_id: uuid.UUID) -> None:
    payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return
    refund.status = RefundStatus.FAILED
    refund.save(update_fields=["status", "updated_at"])
    _audit_refund_outcome(payment=payment, refund=refund, outcome="rejected")


def payment_refund(
    *,
    payment_id: object,
    actor: User,
    now: datetime,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> Refund:
    """An operator's full refund of a successful payment (POST /admin/payments/:id/refund).

    The refund row is committed first, then sent. When PhonePe cannot be reached the caller gets 502 and the
    row stays pending: the sweep sends it (same `merchant_refund_id`). Completion takes back exactly what
    this payment bought; access paid by other payments stays.
    """
    try:
        payment_uuid = uuid.UUID(str(payment_id))
    except ValueError:
        raise PaymentNotFound() from None
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_uuid).first()
        if payment is None:
            raise PaymentNotFound()
        refund = refund_open(
            payment=payment,
            reason=reason,
            automatic=False,
            actor=actor,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    return refund_send(refund_id=refund.pk, now=now)


def payment_apply_refund_status(
    *, refund_id: uuid.UUID, status: GatewayRefundStatus, now: datetime, event_id: uuid.UUID | None = None
) -> str:
    """Apply PhonePe's refund status. COMPLETED: payment refunded, what it bought taken back."""
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        refund.last_reconciled_at = now
        refund.save(update_fields=["last_reconciled_at"])
        outcome, detail = WebhookOutcome.GATEWAY_PENDING, f"gateway refund state {status.state or 'unknown'}"
        if status.original_merchant_order_id and status.original_merchant_order_id != payment.merchant_order_id:
            outcome, detail = WebhookOutcome.REJECTED_ORDER_MISMATCH, "refund belongs to another order"
        elif refund.status == RefundStatus.COMPLETED or (
            # A refund marked failed may still have been taken by PhonePe (lost response): its status API
            # saying COMPLETED is the final word and is applied, unless another refund is open meanwhile.
            refund.status == RefundStatus.FAILED
            and (
                status.state != "COMPLETED"
                or payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).exclude(pk=refund.pk).exists()
            )
        ):
            outcome, detail = WebhookOutcome.ALREADY_APPLIED, ""
        elif status.state == "COMPLETED":
            if status.amount != refund.amount_paise:
                outcome, detail = WebhookOutcome.REJECTED_AMOUNT_MISMATCH, "refund amount differs"
            else:
                refund.status = RefundStatus.COMPLETED
                refund.completed_at = now
                refund.sent_at = refund.sent_at or now
                refund.gateway_refund_id = refund.gateway_refund_id or status.refund_id[:100]
                refund.save(update_fields=["status", "completed_at", "sent_at", "gateway_refund_id", "updated_at"])
                if PAYMENT_MACHINE.can(payment, P.REFUNDED):
                    move(payment, P.REFUNDED, now=now)
                    payment.save(update_fields=["status", "refunded_at", "updated_at"])
                    product_for(payment.product).revoke(payment=payment, now=now)
                _audit_refund_outcome(payment=payment, refund=refund, outcome="completed")
                outcome, detail = WebhookOutcome.APPLIED, ""
        elif status.state == "FAILED":
            refund.status = RefundStatus.FAILED
            refund.save(update_fields=["status", "updated_at"])
            _audit_refund_outcome(payment=payment, refund=refund, outcome="failed")
            outcome, detail = WebhookOutcome.APPLIED, ""
        elif status.state == "CONFIRMED" and refund.status == RefundStatus.PENDING:
            refund.status = RefundStatus.CONFIRMED
            refund.sent_at = refund.sent_at or now
            refund.save(update_fields=["status", "sent_at", "updated_at"])
        if event_id is not None:
            WebhookEvent.objects.filter(pk=event_id).update(
                outcome=outcome, detail=detail[:500], payment=payment, processed_at=now
            )
    return outcome


def _audit_refund_outcome(*, payment: Payment, refund: Refund, outcome: str) -> None:
    """The gateway's final word on a refund, recorded against the payment."""
    audit_log_record(
        action="payment.refund",
        actor_email=SYSTEM_ACTOR,
        resource_type="payment",
        resource_id=payment.pk,
        before={"refund_status": "pending"},
        after={"refund_status": outcome, "merchant_refund_id": refund.merchant_refund_id},
    )


def refunds_retry(*, now: datetime, limit: int = 100) -> int:
    """Finish what refunds were decided: the body of the periodic job. Returns how many refunds it touched.

    * refunds pending or confirmed for longer than `PAYMENT_RECONCILE_INTERVAL_SECONDS` and not checked within
      it: unsent ones are sent (`refund_send`), sent ones asked about (`refund_check`);
    * payments refused by their product whose automatic refund FAILED at PhonePe: a new full refund is opened
      (a new `merchant_refund_id`: PhonePe does not reuse a failed one) and sent, up to
      `MAX_AUTOMATIC_REFUND_ATTEMPTS` in all; after that an operator decides (logged at error level).
    """
    stale = now - timedelta(seconds=settings.PAYMENT_RECONCILE_INTERVAL_SECONDS)
    touched = 0
    pending = (
        Refund.objects.filter(status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED])
        .filter(created_at__lte=stale)
        .filter(Q(last_reconciled_at__isnull=True) | Q(last_reconciled_at__lte=stale))
        .order_by("created_at")
        .values_list("pk", "status")[:limit]
    )
    for refund_id, refund_status in pending:
        touched += 1
        try:
            if refund_status == RefundStatus.PENDING:
                refund_send(refund_id=refund_id, now=now)
            else:
                refund_check(refund_id=refund_id, now=now)
        except (GatewayUnavailable, GatewayRejected):
            continue
    open_refund = Refund.objects.filter(payment=OuterRef("pk"), status__in=OPEN_REFUND_STATUSES)
    refused = (
        Payment.objects.filter(status=P.SUCCESS)
        .exclude(refund_reason="")
        .filter(~Exists(open_refund))
        .annotate(failed_refunds=Count("refunds", filter=Q(refunds__status=RefundStatus.FAILED)))
        .filter(failed_refunds__lt=MAX_AUTOMATIC_REFUND_ATTEMPTS)
        .values_list("pk", flat=True)[:limit]
    )
    for payment_id in refused:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment_id)
            if payment.status != P.SUCCESS or payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).exists():
                continue
            refund = refund_open(payment=payment, reason=payment.refund_reason, automatic=True)
            if payment.refunds.filter(status=RefundStatus.FAILED).count() + 1 >= MAX_AUTOMATIC_REFUND_ATTEMPTS:
                logger.error("last automatic refund attempt for payment", extra={"payment_id": str(payment.pk)})
        touched += 1
        try:
            refund_send(refund_id=refund.pk, now=now)
        except (GatewayUnavailable, GatewayRejected):
            continue
    return touched


def refund_check(*, refund_id: uuid.UUID, now: datetime) -> str | None:
    """Ask PhonePe about one refund in flight and apply its answer; None when it could not be asked."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    try:
        status = get_client().get_refund_status(merchant_refund_id=refund.merchant_refund_id)
    except PhonePeError:
        logger.warning("refund status check failed", extra={"refund_id": str(refund.pk)})
        Refund.objects.filter(pk=refund.pk).update(last_reconciled_at=now)
        return None
    return payment_apply_refund_status(refund_id=refund.pk, status=status, now=now)
