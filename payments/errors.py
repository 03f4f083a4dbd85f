"""Typed errors of the payments domain (codes are part of the API contract)."""

from manas360.api.errors import ApplicationError, BadGateway, Conflict, NotFound, Unauthorized


class PaymentNotFound(NotFound):
    default_message = "Payment not found."


class AmountMismatch(ApplicationError):
    code = "amount_mismatch"
    default_message = "The amount does not match the plan's price."


class CurrencyMismatch(ApplicationError):
    code = "currency_mismatch"
    default_message = "The currency does not match the plan's currency."


class IdempotencyKeyConflict(Conflict):
    code = "idempotency_key_conflict"
    default_message = "This Idempotency-Key was already used for a different request."


class GatewayUnavailable(BadGateway):
    code = "gateway_unavailable"
    default_message = "The payment gateway is unavailable. Please try again shortly."


class GatewayRejected(BadGateway):
    code = "gateway_error"
    default_message = "The payment gateway refused the request."


class InvalidSignature(Unauthorized):
    code = "invalid_signature"
    default_message = "Invalid callback signature."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    default_message = "Only a successful payment can be refunded."


class RefundInProgress(Conflict):
    code = "refund_in_progress"
    default_message = "A refund of this payment is already in progress or done."
