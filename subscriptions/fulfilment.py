"""Plans as a product payments can sell (payments/fulfilment.py), registered in SubscriptionsConfig.ready()."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet

from payments.fulfilment import GRANTED, Fulfilment, Label, Offer, RefundPreview
from subscriptions.entitlements import entitlement_grant, entitlement_revoke
from subscriptions.errors import FreePlanNeedsNoPayment
from subscriptions.models import LIVE_GRANT_STATES, Entitlement, Grant, GrantState, Plan
from subscriptions.selectors import plan_names_by_code
from subscriptions.serializers import SubscriptionSerializer
from subscriptions.services import parked_time_refund_after_grant, plan_resolve, subscription_check_purchasable

# The registry key plans are sold under; stored on every plan payment (`Payment.product`).
PLAN_PRODUCT = "subscription_plan"

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment


class PlanProduct:
    """`product_ref` is the plan's code. A renewal (Autopay) is a payment for the same plan: appended."""

    key = PLAN_PRODUCT

    def offer(self, *, user: User | None, ref: str, now: datetime) -> Offer:
        """The plan's price; refused (409 `plan_not_purchasable`) when it would give `user` nothing new.
        `user=None` only resolves the reference (an Idempotency-Key replay)."""
        plan = plan_resolve(plan_identifier=ref)
        if user is not None:
            if plan.is_free:
                raise FreePlanNeedsNoPayment()
            subscription_check_purchasable(user=user, plan=plan, now=now)
        return Offer(
            product=self.key,
            ref=plan.code,
            amount_paise=plan.amount_paise,
            currency=plan.currency,
            label=plan.name,
        )

    def fulfil(self, *, payment: Payment, now: datetime) -> Fulfilment:
        user = payment.user
        if user is None:
            return Fulfilment.refused("The account that made this payment no longer exists.")
        # A plan withdrawn from sale after the order was created still delivers what was paid for.
        plan = Plan.objects.get(code=payment.product_ref)
        result = entitlement_grant(user=user, plan=plan, payment=payment, now=now)
        if not result.granted:
            return Fulfilment.refused(result.reason)
        # A lifetime plan that starts now leaves the time other payments bought waiting behind it forever:
        # those payments are refunded in full, in this transaction, as if they had arrived after it (rule 6).
        parked_time_refund_after_grant(user=user, payment_id=payment.pk)
        return GRANTED

    def revoke(self, *, payment: Payment, now: datetime) -> None:
        entitlement_revoke(payment=payment, now=now)

    def refund_preview(self, *, payment: Payment, now: datetime) -> RefundPreview:
        """What `revoke` would take back now: this payment's live periods; access only if nothing else is paid."""
        own = list(Grant.objects.filter(payment=payment, state__in=LIVE_GRANT_STATES).select_related("plan"))
        if not own:
            return RefundPreview("Nothing: no period this payment bought is still held (used up, refunded or refused).")
        remaining = timedelta(0)
        for grant in own:
            if grant.duration is None:
                removed = "the lifetime access this payment bought"
                break
            running = grant.state == GrantState.CURRENT and grant.ends_at is not None
            remaining += grant.ends_at - now if running and grant.ends_at else grant.duration
        else:
            days = math.ceil(max(remaining.total_seconds(), 0) / 86400)  # a period bought a second ago: 30 days
            removed = f"{days} days of {own[0].plan.code} that this payment bought"
        # `own` is not empty, so the payer still exists (a user holding grants cannot be deleted): user_id is set.
        others = Grant.objects.filter(user_id=payment.user_id, state__in=LIVE_GRANT_STATES).exclude(payment=payment)  # type: ignore[misc]
        if others.exists():
            return RefundPreview(f"Removes {removed}; the access end moves back by that much, other paid periods stay.")
        labels = dict(Entitlement.choices)
        return RefundPreview(
            f"Removes {removed}; no other paid period remains, so access ends at once when the refund completes.",
            entitlements=tuple(labels.get(name, name) for name in own[0].plan.features or []),
        )

    def describe(self, *, payment: Payment, now: datetime) -> dict[str, Any]:
        if hasattr(payment, "plan_grants"):
            grant = payment.plan_grants[0] if payment.plan_grants else None
        else:
            grant = _root_grants().filter(payment=payment).first()
        subscription = grant.subscription if grant is not None else None
        data = SubscriptionSerializer(subscription, context={"now": now}).data if subscription is not None else None
        return {"subscription": data}

    def prefetch(self) -> list[Prefetch[Any]]:
        return [Prefetch("grants", queryset=_root_grants(), to_attr="plan_grants")]

    def labels(self, *, refs: Collection[str]) -> dict[str, Label]:
        """`planId` is the code the payment stored, `planName` the plan's name now (one query)."""
        return {code: Label(id=code, name=name) for code, name in plan_names_by_code(codes=refs).items()}


def _root_grants() -> QuerySet[Grant]:
    return Grant.objects.select_related("subscription__plan").filter(continues__isnull=True)
