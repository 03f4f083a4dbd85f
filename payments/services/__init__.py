"""Payments services by responsibility (docs/payments.md):

* `create`: POST /payments/create (`payment_create`), and for other flows the bare pending row (`payment_open`)
  and the steps around asking PhonePe for its order (`payment_redirect_url`, `payment_record_gateway_order`,
  `payment_fail_on_create`, `gateway_failure_reason`, `gateway_error`);
* `orders`: applying PhonePe's order status, fulfilment or automatic refund (`payment_apply_order_status`);
* `webhook`: PhonePe's callbacks (`payment_webhook_process`), and processing one stored event again
  (`webhook_order_event_process`, `webhook_refund_event_process`, `webhook_registered_event_process`,
  `webhook_event_finish`), and which stored events are not final yet (`webhook_unfinished`);
* `refunds`: the refund outbox (`payment_refund`, `refund_send`, `refund_check`, `refunds_retry`,
  `payment_apply_refund_status`; an automatic full refund decided in the caller's transaction,
  `refund_open_automatic`);
* `reconcile`: asking PhonePe about one pending payment, expiry included (`payment_reconcile`), on read
  (throttled: `payment_reconcile_if_stale`) and for the periodic job (back-off: `payments_due_for_reconciliation`).

Import from here; the modules import one way: transitions <- refunds <- orders <- webhook, reconcile.
"""

from payments.services.create import (
    PaymentCreation,
    gateway_error,
    gateway_failure_reason,
    payment_create,
    payment_fail_on_create,
    payment_open,
    payment_record_gateway_order,
    payment_redirect_url,
)
from payments.services.orders import payment_apply_order_status
from payments.services.reconcile import (
    payment_reconcile,
    payment_reconcile_if_stale,
    payments_due_for_reconciliation,
)
from payments.services.refunds import (
    payment_apply_refund_status,
    payment_refund,
    refund_check,
    refund_open_automatic,
    refund_send,
    refunds_retry,
)
from payments.services.webhook import (
    ORDER_EVENTS,
    REFUND_EVENTS,
    WebhookResult,
    payment_webhook_process,
    webhook_event_finish,
    webhook_order_event_process,
    webhook_refund_event_process,
    webhook_registered_event_process,
    webhook_unfinished,
)

__all__ = [
    "ORDER_EVENTS",
    "REFUND_EVENTS",
    "PaymentCreation",
    "WebhookResult",
    "gateway_error",
    "gateway_failure_reason",
    "payment_apply_order_status",
    "payment_apply_refund_status",
    "payment_create",
    "payment_fail_on_create",
    "payment_open",
    "payment_reconcile",
    "payment_reconcile_if_stale",
    "payment_record_gateway_order",
    "payment_redirect_url",
    "payment_refund",
    "payment_webhook_process",
    "payments_due_for_reconciliation",
    "refund_check",
    "refund_open_automatic",
    "refund_send",
    "refunds_retry",
    "webhook_event_finish",
    "webhook_order_event_process",
    "webhook_refund_event_process",
    "webhook_registered_event_process",
    "webhook_unfinished",
]
