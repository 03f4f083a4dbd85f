"""What a refund takes back, shown to staff before they confirm it (the Django admin's refund page).

Today's rule (payments.services.payment_refund + subscriptions.services.subscription_end_for_refund): when the
refund completes, the subscription the payment bought ends at once if it is still current, and with it every
entitlement of its plan. A payment whose subscription already ended or was replaced takes nothing back.

This is the one function to switch when the entitlement ledger (per-payment grants) lands: it should then list
the grants this payment bought that are still held.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from payments.models import Payment
from subscriptions.models import Entitlement, SubscriptionStatus


@dataclass(frozen=True)
class AccessTakenBack:
    summary: str
    entitlements: tuple[str, ...] = ()


def refund_access_taken_back(payment: Payment, *, now=None) -> AccessTakenBack:
    now = now or timezone.now()
    subscription = payment.subscription
    if subscription is None:
        return AccessTakenBack("Nothing: this payment is not linked to a subscription.")
    if subscription.status != SubscriptionStatus.ACTIVE or subscription.has_lapsed(now):
        return AccessTakenBack(
            f"Nothing: the {subscription.plan.code} subscription this payment bought is already "
            f"{subscription.effective_status}."
        )
    labels = dict(Entitlement.choices)
    until = subscription.end_date.date().isoformat() if subscription.end_date else "no end date (lifetime)"
    return AccessTakenBack(
        summary=(
            f"The {subscription.plan.code} subscription (paid until {until}) ends at once when the refund completes."
        ),
        entitlements=tuple(labels.get(name, name) for name in subscription.plan.features or []),
    )
