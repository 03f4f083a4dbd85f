"""What payments offers the apps that do gateway work of their own (Autopay): the only module of payments they
import (docs/architecture-decisions.md, ADR-3; import-linter enforces it).

Everything else in payments (`services.*`, `phonepe.*`, `models`, `audit`, ...) may change shape without
notice; the names below are kept stable, with the meaning their own docstrings give:

* a payment PhonePe takes by other means than our checkout: `payment_open` (the pending row for a product's
  `Offer`), then `payment_apply_order_status` with PhonePe's word (fulfils, or refunds with `refund_instead`);
* a checkout of one's own (Autopay's set-up): `payment_redirect_url`, `payment_record_gateway_order`,
  `payment_fail_on_create`, and for a gateway error `gateway_failure_reason` (stored) and `gateway_error` (the
  API error to raise);
* an automatic full refund decided inside the caller's transaction: `refund_open_automatic`;
* PhonePe's Autopay API: `get_autopay_client` and the errors and result types its calls raise and return;
* PhonePe's `subscription.*` callbacks: `register_webhook_handler` and the outcomes a handler returns;
* payments' reconciliation audit with PhonePe: `audit_source_register`, `Verdict`, `NOT_FOUND`, `FindingKind`,
  `gateway_state`;
* the billing rows as read-only facts: `Payment`, `PaymentStatus`; a product's price: `Offer`, `product_for`.
"""

from payments.audit import NOT_FOUND, Verdict, audit_source_register, gateway_state
from payments.errors import GatewayUnavailable
from payments.fulfilment import Offer, product_for
from payments.models import FindingKind, Payment, PaymentStatus, WebhookOutcome
from payments.phonepe.autopay import SubscriptionOrderStatus, get_autopay_client
from payments.phonepe.client import (
    CreatedOrder,
    OrderStatus,
    PhonePeError,
    PhonePeNotFound,
    PhonePeRejected,
    PhonePeUnavailable,
)
from payments.services import (
    gateway_error,
    gateway_failure_reason,
    payment_apply_order_status,
    payment_fail_on_create,
    payment_open,
    payment_record_gateway_order,
    payment_redirect_url,
    refund_open_automatic,
)
from payments.webhook_handlers import register_webhook_handler

__all__ = [
    "NOT_FOUND",
    "CreatedOrder",
    "FindingKind",
    "GatewayUnavailable",
    "Offer",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "PhonePeError",
    "PhonePeNotFound",
    "PhonePeRejected",
    "PhonePeUnavailable",
    "SubscriptionOrderStatus",
    "Verdict",
    "WebhookOutcome",
    "audit_source_register",
    "gateway_error",
    "gateway_failure_reason",
    "gateway_state",
    "get_autopay_client",
    "payment_apply_order_status",
    "payment_fail_on_create",
    "payment_open",
    "payment_record_gateway_order",
    "payment_redirect_url",
    "product_for",
    "refund_open_automatic",
    "register_webhook_handler",
]
