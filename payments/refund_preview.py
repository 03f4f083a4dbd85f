"""What a refund takes back, shown to staff before they confirm it (the Django admin's refund page).

Payments does not know what it sold: the product that the payment bought answers (payments/fulfilment.py,
`refund_preview`), by the same ledger rules its `revoke` applies when the refund completes.
"""

from __future__ import annotations

from datetime import datetime

from payments.fulfilment import RefundPreview, product_for
from payments.models import Payment


def refund_access_taken_back(payment: Payment, *, now: datetime) -> RefundPreview:
    if not payment.product:
        return RefundPreview("Nothing: this payment did not buy anything the service still tracks.")
    return product_for(payment.product).refund_preview(payment=payment, now=now)
