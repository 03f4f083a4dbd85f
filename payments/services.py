"""Payments through PhonePe Standard Checkout v2 (api.md §5, phonepe.md).

Rules that hold everywhere in this module:

* Money is integer paise; the amount always comes from the plan.
* State moves only through `_move`, which knows the legal transitions and audits each one
  (`payment.state_change`). pending -> success|failed; failed -> success (a late COMPLETED
  confirmed by the status API is honoured: the user paid, phonepe.md §11.7); success -> refunded.
* Nothing is granted on the word of a callback or a browser redirect: the order's state and
  amount come from PhonePe's order-status API (phonepe.md §11.1).
* No outbound HTTP while a row lock is held: gateway calls happen between transactions, and
  state is applied in a short transaction that locks the payment row first
  (lock order: payment -> refund -> user -> subscription).
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from manas360.api.errors import ApplicationError, ServiceUnavailable, ValidationFailed
from payments.errors import (
    AmountMismatch,
    CurrencyMismatch,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyKeyConflict,
    InvalidSignature,
    PaymentNotFound,
    PaymentNotRefundable,
    RefundInProgress,
)
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.phonepe.callback import callback_is_authentic
from payments.phonepe.client import OrderStatus, PhonePeError, PhonePeNotFound, PhonePeUnavailable, get_client
from payments.phonepe.client import RefundStatus as GatewayRefundStatus
from payments.webhook_handlers import webhook_handler_for
from subscriptions.errors import FreePlanNeedsNoPayment
from subscriptions.services import (
    plan_resolve,
    subscription_check_purchasable,
    subscription_end_for_refund,
    subscription_grant,
)

logger = logging.getLogger("manas360.payments")

P = PaymentStatus
PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    P.PENDING: {P.SUCCESS, P.FAILED},
    P.FAILED: {P.SUCCESS},
    P.SUCCESS: {P.REFUNDED},
    P.REFUNDED: set(),
}
ORDER_EVENTS = {"checkout.order.completed", "checkout.order.failed", "pg.order.completed", "pg.order.failed"}
REFUND_EVENTS = {"pg.refund.accepted", "pg.refund.completed", "pg.refund.failed"}
OPEN_REFUND_STATUSES = [RefundStatus.PENDING, RefundStatus.CONFIRMED, RefundStatus.COMPLETED]
SYSTEM_ACTOR = "system:phonepe"


def _new_gateway_id(prefix: str) -> str:
    """≤ 63 chars of [A-Za-z0-9_-], opaque (no personal or health data: phonepe.md §11.9)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def _move(payment: Payment, to_status: str, *, actor=None, reason: str = "", **audit_context) -> bool:
    """The one guarded place where a payment's status changes. Returns False for an illegal move."""
    from_status = payment.status
    if to_status not in PAYMENT_TRANSITIONS[from_status]:
        return False
    now = timezone.now()
    payment.status = to_status
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
    return True


# --- create (api.md §5 POST /payments/create) -----------------------------------


def _amount_to_paise(amount) -> int:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("`amount` must be a number of rupees.", errors={"amount": ["Invalid amount."]}) from None
    paise = value * 100
    if paise != paise.to_integral_value():
        raise AmountMismatch()
    return int(paise)


def _validate_idempotency_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if len(key) > 128 or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key must be at most 128 printable characters.",
            errors={"idempotency_key": ["At most 128 printable characters."]},
        )
    return key


@dataclass(frozen=True)
class PaymentCreation:
    payment: Payment
    created: bool


def payment_create(
    *, user, plan_identifier, amount_rupees=None, currency: str | None = None, idempotency_key: str | None = None
) -> PaymentCreation:
    """Create a pending payment and its PhonePe order; the checkout URL is in `redirect_url`.

    An `Idempotency-Key` already used by this user returns that payment (created=False).
    Gateway unreachable: the payment is marked failed and 502 `gateway_unavailable` raised.
    """
    idempotency_key = _validate_idempotency_key(idempotency_key)
    plan = plan_resolve(plan_identifier=plan_identifier)
    if idempotency_key:
        existing = (
            Payment.objects.select_related("plan", "subscription__plan")
            .filter(user=user, idempotency_key=idempotency_key)
            .first()
        )
        if existing is not None:
            if existing.plan_id != plan.pk:
                raise IdempotencyKeyConflict()
            return PaymentCreation(existing, False)
    if plan.is_free:
        raise FreePlanNeedsNoPayment()
    if amount_rupees is not None and _amount_to_paise(amount_rupees) != plan.amount_paise:
        raise AmountMismatch(
            extra={"expected_amount": plan.amount_paise / 100, "expected_amount_paise": plan.amount_paise}
        )
    if currency and currency.strip().upper() != plan.currency:
        raise CurrencyMismatch()
    subscription_check_purchasable(user=user, plan=plan)

    expire_after = min(max(settings.PHONEPE_ORDER_EXPIRE_SECONDS, 300), 3600)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                user=user,
                plan=plan,
                merchant_order_id=_new_gateway_id("M360"),
                amount_paise=plan.amount_paise,
                currency=plan.currency,
                idempotency_key=idempotency_key,
                expires_at=timezone.now() + timedelta(seconds=expire_after),
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its payment.
        existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if idempotency_key is None or existing is None:
            raise
        if existing.plan_id != plan.pk:
            raise IdempotencyKeyConflict() from None
        return PaymentCreation(existing, False)

    separator = "&" if "?" in settings.PHONEPE_REDIRECT_URL else "?"
    try:
        order = get_client().create_order(
            merchant_order_id=payment.merchant_order_id,
            amount_paise=payment.amount_paise,
            redirect_url=f"{settings.PHONEPE_REDIRECT_URL}{separator}transactionId={payment.merchant_order_id}",
            expire_after_seconds=expire_after,
            meta_info={"udf1": str(payment.pk)},
        )
    except PhonePeError as exc:
        _payment_fail_on_create(
            payment_id=payment.pk, reason="gateway_unavailable" if exc.transient else "gateway_error"
        )
        if exc.transient:
            raise GatewayUnavailable() from exc
        raise GatewayRejected() from exc

    payment.gateway_order_id = order.order_id[:100]
    payment.redirect_url = order.redirect_url[:1000]
    payment.gateway_state = order.state[:30]
    fields = ["gateway_order_id", "redirect_url", "gateway_state", "updated_at"]
    if order.expire_at_ms:
        payment.expires_at = datetime.fromtimestamp(order.expire_at_ms / 1000, tz=UTC)
        fields.append("expires_at")
    payment.save(update_fields=fields)
    logger.info("payment created", extra={"payment_id": str(payment.pk), "plan": plan.code})
    return PaymentCreation(payment, True)


@transaction.atomic
def _payment_fail_on_create(*, payment_id, reason: str) -> None:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if _move(payment, P.FAILED, reason=reason):
        payment.save(update_fields=["status", "failure_reason", "updated_at"])


# --- applying the gateway's word --------------------------------------------------


def payment_apply_order_status(*, payment_id, status: OrderStatus, claimed_state: str = "", event_id=None) -> str:
    """Apply PhonePe's order status to our payment in one transaction; returns the outcome.

    `claimed_state` is what an (unsigned) callback body said; it never decides anything,
    it only labels a late failure. Success activates or extends the subscription in
    the same transaction.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("plan", "user").get(pk=payment_id)
        payment.last_reconciled_at = timezone.now()
        fields = {"last_reconciled_at", "updated_at"}
        outcome, detail = _decide(payment, status, claimed_state, fields)
        payment.save(update_fields=sorted(fields))
        if event_id is not None:
            WebhookEvent.objects.filter(pk=event_id).update(
                outcome=outcome, detail=detail[:500], payment=payment, processed_at=timezone.now()
            )
    return outcome


def _decide(payment: Payment, status: OrderStatus, claimed_state: str, fields: set) -> tuple[str, str]:
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
            if _move(payment, P.FAILED, reason="amount_mismatch"):
                fields.update({"status", "failure_reason"})
            return WebhookOutcome.REJECTED_AMOUNT_MISMATCH, f"gateway amount {status.amount} != {payment.amount_paise}"
        if payment.status in (P.SUCCESS, P.REFUNDED):
            if claimed_state == "FAILED":
                return WebhookOutcome.IGNORED_LATE_FAILURE, "callback claimed FAILED; gateway reports COMPLETED"
            return WebhookOutcome.ALREADY_APPLIED, ""
        _move(payment, P.SUCCESS)
        payment.gateway_state = "COMPLETED"
        payment.payment_mode = status.payment_mode
        payment.subscription = subscription_grant(user=payment.user, plan=payment.plan)
        fields.update({"status", "completed_at", "failure_reason", "gateway_state", "payment_mode", "subscription"})
        return WebhookOutcome.APPLIED, ""
    if status.state == "FAILED":
        if payment.status == P.PENDING:
            _move(payment, P.FAILED, reason=status.error_code or "gateway_failed")
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


def payment_apply_refund_status(*, refund_id, status: GatewayRefundStatus, event_id=None) -> str:
    """Apply PhonePe's refund status. COMPLETED: payment refunded, its subscription ends."""
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = Payment.objects.select_for_update(of=("self",)).select_related("subscription").get(pk=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        outcome, detail = WebhookOutcome.GATEWAY_PENDING, f"gateway refund state {status.state or 'unknown'}"
        if status.original_merchant_order_id and status.original_merchant_order_id != payment.merchant_order_id:
            outcome, detail = WebhookOutcome.REJECTED_ORDER_MISMATCH, "refund belongs to another order"
        elif refund.status == RefundStatus.COMPLETED or (
            # A refund we marked failed because our call to PhonePe failed may still have been taken by
            # PhonePe (lost response): its status API saying COMPLETED is the final word and is applied.
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
                refund.completed_at = timezone.now()
                refund.gateway_refund_id = refund.gateway_refund_id or status.refund_id[:100]
                refund.save(update_fields=["status", "completed_at", "gateway_refund_id", "updated_at"])
                if _move(payment, P.REFUNDED):
                    payment.save(update_fields=["status", "refunded_at", "updated_at"])
                if payment.subscription is not None:
                    subscription_end_for_refund(subscription=payment.subscription)
                _audit_refund_outcome(payment=payment, refund=refund, outcome="completed")
                outcome, detail = WebhookOutcome.APPLIED, ""
        elif status.state == "FAILED":
            refund.status = RefundStatus.FAILED
            refund.save(update_fields=["status", "updated_at"])
            _audit_refund_outcome(payment=payment, refund=refund, outcome="failed")
            outcome, detail = WebhookOutcome.APPLIED, ""
        elif status.state == "CONFIRMED" and refund.status == RefundStatus.PENDING:
            refund.status = RefundStatus.CONFIRMED
            refund.save(update_fields=["status", "updated_at"])
        if event_id is not None:
            WebhookEvent.objects.filter(pk=event_id).update(
                outcome=outcome, detail=detail[:500], payment=payment, processed_at=timezone.now()
            )
    return outcome


# --- webhook (api.md §5 POST /payments/webhook, phonepe.md §7, §11) ----------------


def _audit_refund_outcome(*, payment: Payment, refund, outcome: str) -> None:
    """The gateway's final word on a refund, recorded against the payment."""
    audit_log_record(
        action="payment.refund",
        actor_email=SYSTEM_ACTOR,
        resource_type="payment",
        resource_id=payment.pk,
        before={"refund_status": "pending"},
        after={"refund_status": outcome, "merchant_refund_id": refund.merchant_refund_id},
    )


def _event_key(event: str, merchant_order_id: str, merchant_refund_id: str, state: str) -> str:
    raw = f"{event}|{merchant_order_id}|{merchant_refund_id}|{state}"
    return raw if len(raw) <= 255 else hashlib.sha256(raw.encode()).hexdigest()


def _safe_payload(payload: dict) -> dict:
    """What we keep of a callback: ids, state and amounts; never instrument or payer details."""
    keep = (
        "merchantId",
        "orderId",
        "merchantOrderId",
        "originalMerchantOrderId",
        "refundId",
        "merchantRefundId",
        "merchantSubscriptionId",
        "state",
        "amount",
        "expireAt",
        "timestamp",
        "errorCode",
        "detailedErrorCode",
    )
    return {key: payload[key] for key in keep if key in payload and not isinstance(payload[key], (dict, list))}


@dataclass(frozen=True)
class WebhookResult:
    event_id: uuid.UUID | None
    outcome: str
    duplicate: bool = False


def payment_webhook_process(*, raw_body: bytes, authorization: str | None) -> WebhookResult:
    """Verify, store once, confirm with the gateway, apply. See the module docstring."""
    if not callback_is_authentic(
        authorization, username=settings.PHONEPE_WEBHOOK_USERNAME, password=settings.PHONEPE_WEBHOOK_PASSWORD
    ):
        logger.warning("webhook rejected: invalid signature")
        raise InvalidSignature()
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApplicationError("Malformed JSON body.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApplicationError("The callback body must be a JSON object.", code="invalid_json")
    payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
    event = str(body.get("event") or body.get("type") or "")[:100]
    merchant_refund_id = str(payload.get("merchantRefundId") or "")[:63]
    # The order, refund or (for a mandate's own events) Autopay subscription the event is about.
    merchant_order_id = str(
        payload.get("merchantOrderId")
        or payload.get("originalMerchantOrderId")
        or payload.get("merchantSubscriptionId")
        or ""
    )[:63]
    state = str(payload.get("state") or "").upper()[:30]
    amount = payload.get("amount") if isinstance(payload.get("amount"), int) else None

    event_row, created = _webhook_event_store(
        event_key=_event_key(event, merchant_order_id, merchant_refund_id, state),
        event=event,
        merchant_order_id=merchant_order_id,
        merchant_refund_id=merchant_refund_id,
        state=state,
        amount_paise=amount,
        payload=_safe_payload(payload),
    )
    if not created and not _webhook_event_claim_retry(event_row.pk):
        logger.info("webhook replay ignored", extra={"webhook_event_id": str(event_row.pk), "event": event})
        return WebhookResult(event_row.pk, event_row.outcome, duplicate=True)

    if event in ORDER_EVENTS:
        outcome = _process_order_event(event_row, merchant_order_id=merchant_order_id, claimed_state=state)
    elif event in REFUND_EVENTS:
        outcome = _process_refund_event(event_row, merchant_refund_id=merchant_refund_id)
    elif (handler := webhook_handler_for(event)) is not None:
        outcome = _process_registered_event(event_row, handler, event=event, payload=payload)
    else:
        outcome = WebhookOutcome.IGNORED
        _webhook_event_finish(event_row.pk, outcome, f"event {event or 'missing'} not handled")
    logger.info("webhook processed", extra={"webhook_event_id": str(event_row.pk), "event": event, "outcome": outcome})
    return WebhookResult(event_row.pk, outcome)


def _webhook_event_store(*, event_key: str, **fields) -> tuple[WebhookEvent, bool]:
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(event_key=event_key, **fields), True
    except IntegrityError:
        return WebhookEvent.objects.get(event_key=event_key), False


def _webhook_event_claim_retry(event_id) -> bool:
    """An event whose status check failed earlier is processed again on the gateway's retry (once at a time)."""
    return bool(
        WebhookEvent.objects.filter(pk=event_id, outcome=WebhookOutcome.STATUS_UNAVAILABLE).update(
            outcome=WebhookOutcome.RECEIVED
        )
    )


def _webhook_event_finish(event_id, outcome: str, detail: str = "", payment=None) -> None:
    values = {"outcome": outcome, "detail": detail[:500], "processed_at": timezone.now()}
    if payment is not None:
        values["payment"] = payment
    WebhookEvent.objects.filter(pk=event_id).update(**values)


def _process_order_event(event_row: WebhookEvent, *, merchant_order_id: str, claimed_state: str) -> str:
    payment = Payment.objects.filter(merchant_order_id=merchant_order_id).first() if merchant_order_id else None
    if payment is None:
        logger.warning("webhook for unknown order", extra={"webhook_event_id": str(event_row.pk)})
        _webhook_event_finish(event_row.pk, WebhookOutcome.UNKNOWN_ORDER, "no payment with this merchantOrderId")
        return WebhookOutcome.UNKNOWN_ORDER
    try:
        status = get_client().get_order_status(merchant_order_id=merchant_order_id)
    except PhonePeNotFound:
        _webhook_event_finish(
            event_row.pk, WebhookOutcome.REJECTED_ORDER_MISMATCH, "gateway has no such order", payment=payment
        )
        return WebhookOutcome.REJECTED_ORDER_MISMATCH
    except PhonePeError as exc:
        _webhook_event_finish(event_row.pk, WebhookOutcome.STATUS_UNAVAILABLE, "order status check failed", payment)
        raise ServiceUnavailable("Could not confirm the order with the gateway; retry later.") from exc
    return payment_apply_order_status(
        payment_id=payment.pk, status=status, claimed_state=claimed_state, event_id=event_row.pk
    )


def _process_registered_event(event_row: WebhookEvent, handler, *, event: str, payload: dict) -> str:
    try:
        outcome, detail = handler(event=event, payload=payload)
    except PhonePeError as exc:
        _webhook_event_finish(event_row.pk, WebhookOutcome.STATUS_UNAVAILABLE, "status check failed")
        raise ServiceUnavailable("Could not confirm the event with the gateway; retry later.") from exc
    _webhook_event_finish(event_row.pk, outcome, detail)
    return outcome


def _process_refund_event(event_row: WebhookEvent, *, merchant_refund_id: str) -> str:
    refund = Refund.objects.filter(merchant_refund_id=merchant_refund_id).first() if merchant_refund_id else None
    if refund is None:
        logger.warning("webhook for unknown refund", extra={"webhook_event_id": str(event_row.pk)})
        _webhook_event_finish(event_row.pk, WebhookOutcome.UNKNOWN_ORDER, "no refund with this merchantRefundId")
        return WebhookOutcome.UNKNOWN_ORDER
    try:
        status = get_client().get_refund_status(merchant_refund_id=merchant_refund_id)
    except PhonePeNotFound:
        _webhook_event_finish(event_row.pk, WebhookOutcome.REJECTED_ORDER_MISMATCH, "gateway has no such refund")
        return WebhookOutcome.REJECTED_ORDER_MISMATCH
    except PhonePeError as exc:
        _webhook_event_finish(event_row.pk, WebhookOutcome.STATUS_UNAVAILABLE, "refund status check failed")
        raise ServiceUnavailable("Could not confirm the refund with the gateway; retry later.") from exc
    return payment_apply_refund_status(refund_id=refund.pk, status=status, event_id=event_row.pk)


# --- reconciliation on read (api.md §5 GET /payments/:id) ------------------------


def payment_reconcile_if_stale(*, payment: Payment) -> bool:
    """Ask the gateway about a payment (or refund) pending for longer than the configured
    threshold, so a lost callback cannot leave it pending forever. Returns True if it asked."""
    threshold = timezone.now() - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    asked = False
    if payment.status == P.PENDING and payment.created_at <= threshold:
        asked = True
        try:
            status = get_client().get_order_status(merchant_order_id=payment.merchant_order_id)
        except PhonePeNotFound:
            logger.warning("pending payment unknown to the gateway", extra={"payment_id": str(payment.pk)})
        except PhonePeError:
            logger.warning("reconciliation skipped: gateway unavailable", extra={"payment_id": str(payment.pk)})
        else:
            payment_apply_order_status(payment_id=payment.pk, status=status)
    if payment.status == P.SUCCESS:
        for refund in payment.refunds.filter(
            status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED], created_at__lte=threshold
        ):
            asked = True
            try:
                refund_status = get_client().get_refund_status(merchant_refund_id=refund.merchant_refund_id)
            except PhonePeError:
                logger.warning("refund reconciliation skipped", extra={"refund_id": str(refund.pk)})
                continue
            payment_apply_refund_status(refund_id=refund.pk, status=refund_status)
    return asked


# --- refunds (api.md §5 POST /admin/payments/:id/refund) ------------------------


def payment_refund(
    *, payment_id, actor, reason: str = "", ip_address: str | None = None, user_agent: str = ""
) -> Refund:
    """Refund a successful payment in full through PhonePe. The refund callback (or a status
    check) completes it: payment `refunded`, its subscription ends."""
    try:
        payment_uuid = uuid.UUID(str(payment_id))
    except ValueError:
        raise PaymentNotFound() from None
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_uuid).first()
        if payment is None:
            raise PaymentNotFound()
        if payment.status != P.SUCCESS:
            raise PaymentNotRefundable()
        if payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).exists():
            raise RefundInProgress()
        refund = Refund.objects.create(
            payment=payment,
            merchant_refund_id=_new_gateway_id("R360"),
            amount_paise=payment.amount_paise,
            reason=(reason or "")[:500],
            requested_by=actor,
        )
        audit_log_record(
            action="payment.refund",
            actor=actor,
            resource_type="payment",
            resource_id=payment.pk,
            before={"status": payment.status},
            after={"refund_status": "requested", "merchant_refund_id": refund.merchant_refund_id, "reason": reason},
            ip_address=ip_address,
            user_agent=user_agent,
        )
    try:
        result = get_client().refund(
            merchant_refund_id=refund.merchant_refund_id,
            original_merchant_order_id=payment.merchant_order_id,
            amount_paise=refund.amount_paise,
        )
    except PhonePeError as exc:
        # PhonePe caps refunds at the order amount, so a later new attempt cannot refund twice.
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED, updated_at=timezone.now())
        logger.error("refund request failed", extra={"refund_id": str(refund.pk), "error_class": type(exc).__name__})
        if isinstance(exc, PhonePeUnavailable):
            raise GatewayUnavailable() from exc
        raise GatewayRejected() from exc
    Refund.objects.filter(pk=refund.pk).update(gateway_refund_id=result.refund_id[:100], updated_at=timezone.now())
    if result.state in ("COMPLETED", "FAILED", "CONFIRMED"):
        payment_apply_refund_status(
            refund_id=refund.pk,
            status=GatewayRefundStatus(
                merchant_refund_id=refund.merchant_refund_id,
                original_merchant_order_id=payment.merchant_order_id,
                refund_id=result.refund_id,
                amount=result.amount,
                state=result.state,
            ),
        )
    refund.refresh_from_db()
    return refund
