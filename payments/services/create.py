"""POST /payments/create: a pending payment and its PhonePe order (docs/payments.md)."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from manas360.api.errors import ValidationFailed
from payments.errors import (
    AmountMismatch,
    CurrencyMismatch,
    GatewayRejected,
    GatewayUnavailable,
    IdempotencyKeyConflict,
)
from payments.fulfilment import Offer, checkout_product, product_for
from payments.models import PAYMENT_MACHINE, Payment
from payments.phonepe.client import CreatedOrder, PhonePeError, get_client
from payments.services.transitions import P, move, new_gateway_id

logger = logging.getLogger("manas360.payments")


def _amount_to_paise(amount: object) -> int:
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


def _same_request(payment: Payment, *, product: str, ref: str) -> PaymentCreation:
    if (payment.product, payment.product_ref) != (product, ref):
        raise IdempotencyKeyConflict()
    return PaymentCreation(payment, False)


def payment_open(
    *,
    user: User,
    offer: Offer,
    merchant_order_id: str | None = None,
    idempotency_key: str | None = None,
    expires_at: datetime | None = None,
) -> Payment:
    """Write the pending payment row for a priced offer; no gateway call. Caller holds a transaction.

    `payment_create` uses it before creating the checkout order; a payment that PhonePe starts by other means
    (an Autopay renewal debit) uses it with its own `merchant_order_id`, then hands PhonePe's order status to
    `payment_apply_order_status`, which fulfils it (a renewal of the same plan is appended to the current
    period) or refunds it when it buys nothing new.
    """
    return Payment.objects.create(
        user=user,
        product=offer.product,
        product_ref=offer.ref,
        merchant_order_id=merchant_order_id or new_gateway_id("M360"),
        amount_paise=offer.amount_paise,
        currency=offer.currency,
        idempotency_key=idempotency_key,
        expires_at=expires_at,
    )


def payment_create(
    *,
    user: User,
    now: datetime,
    plan_identifier: object = None,
    product: str | None = None,
    ref: object = None,
    amount_rupees: object = None,
    currency: str | None = None,
    idempotency_key: str | None = None,
) -> PaymentCreation:
    """Create a pending payment for `product`/`ref` (by default the checkout product, a plan: `plan_identifier`)
    and its PhonePe order.

    The product prices it and may refuse it (`offer`). An `Idempotency-Key` already used by this user returns
    that payment (created=False). Gateway unreachable: the payment is marked failed and 502 raised.
    """
    idempotency_key = _validate_idempotency_key(idempotency_key)
    seller = product_for(product) if product else checkout_product()
    product = seller.key
    reference = str(ref if ref is not None else plan_identifier or "")
    if idempotency_key:
        existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            # Resolve aliases (plan_premium, a plan UUID) to the canonical reference the payment stored.
            return _same_request(existing, product=product, ref=seller.offer(user=None, ref=reference, now=now).ref)
    offer = seller.offer(user=user, ref=reference, now=now)
    if amount_rupees is not None and _amount_to_paise(amount_rupees) != offer.amount_paise:
        raise AmountMismatch(
            extra={"expected_amount": offer.amount_paise / 100, "expected_amount_paise": offer.amount_paise}
        )
    if currency and currency.strip().upper() != offer.currency:
        raise CurrencyMismatch()

    expire_after = min(max(settings.PHONEPE_ORDER_EXPIRE_SECONDS, 300), 3600)
    try:
        with transaction.atomic():
            payment = payment_open(
                user=user,
                offer=offer,
                idempotency_key=idempotency_key,
                expires_at=now + timedelta(seconds=expire_after),
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its payment.
        existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if idempotency_key is None or existing is None:
            raise
        return _same_request(existing, product=offer.product, ref=offer.ref)

    try:
        order = get_client().create_order(
            merchant_order_id=payment.merchant_order_id,
            amount_paise=payment.amount_paise,
            redirect_url=payment_redirect_url(payment),
            expire_after_seconds=expire_after,
            meta_info={"udf1": str(payment.pk)},
        )
    except PhonePeError as exc:
        payment_fail_on_create(payment_id=payment.pk, reason=gateway_failure_reason(exc), now=now)
        raise gateway_error(exc) from exc

    payment_record_gateway_order(payment=payment, order=order)
    logger.info("payment created", extra={"payment_id": str(payment.pk), "product": offer.product, "ref": offer.ref})
    return PaymentCreation(payment, True)


# --- the steps of opening a PhonePe order for a pending payment, shared with other flows (autopay's setup) ---


def payment_redirect_url(payment: Payment) -> str:
    """Where PhonePe sends the browser back after its payment page."""
    separator = "&" if "?" in settings.PHONEPE_REDIRECT_URL else "?"
    return f"{settings.PHONEPE_REDIRECT_URL}{separator}transactionId={payment.merchant_order_id}"


def payment_record_gateway_order(*, payment: Payment, order: CreatedOrder) -> None:
    """Keep PhonePe's answer to the order's creation on the pending payment."""
    payment.gateway_order_id = order.order_id[:100]
    payment.redirect_url = order.redirect_url[:1000]
    payment.gateway_state = order.state[:30]
    fields = ["gateway_order_id", "redirect_url", "gateway_state", "updated_at"]
    if order.expire_at_ms:
        payment.expires_at = datetime.fromtimestamp(order.expire_at_ms / 1000, tz=UTC)
        fields.append("expires_at")
    payment.save(update_fields=fields)


def gateway_failure_reason(exc: PhonePeError) -> str:
    """The failure reason of a payment whose order PhonePe did not create."""
    return "gateway_unavailable" if exc.transient else "gateway_error"


def gateway_error(exc: PhonePeError) -> GatewayUnavailable | GatewayRejected:
    """What the client is answered when PhonePe did not create the order: retry later (503) or refused (502)."""
    return GatewayUnavailable() if exc.transient else GatewayRejected()


@transaction.atomic
def payment_fail_on_create(*, payment_id: uuid.UUID, reason: str, now: datetime) -> None:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if PAYMENT_MACHINE.can(payment, P.FAILED):
        move(payment, P.FAILED, now=now, reason=reason)
        payment.save(update_fields=["status", "failure_reason", "updated_at"])
