"""Writes and state changes of subscriptions (docs/api.md §4).

Every status change goes through `transition`, the one place that knows which
moves are legal. What a user holds is decided by their grants
(`subscriptions/entitlements.py`); the active Subscription row is derived from them.
Callers that change a user's subscriptions or grants hold the user's row lock, so
two grants for the same user never race on the "one active subscription per user"
constraint; lock order is always payment row -> user row -> grants -> subscription rows.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.audit import audit_log_record
from accounts.models import User
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.services import refund_open_automatic
from subscriptions.entitlements import (
    entitlement_check,
    entitlement_grant,
    entitlements_advance,
    entitlements_end_all,
    parked_payment_ids,
    parked_reason,
)
from subscriptions.errors import (
    AlreadyCancelled,
    NoActiveSubscription,
    PlanNotFound,
    PlanNotPurchasable,
    SubscriptionStateConflict,
)
from subscriptions.models import Grant, Plan, Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active
from subscriptions.transitions import transition

logger = logging.getLogger("manas360.subscriptions")

S = SubscriptionStatus

PLAN_ALIASES = {"plan_premium": "premium_monthly"}


def plan_resolve(*, plan_identifier: object) -> Plan:
    """An active plan by code, alias (`plan_premium`) or UUID; 404 `plan_not_found` otherwise."""
    identifier = str(plan_identifier or "").strip()
    if not identifier:
        raise PlanNotFound()
    identifier = PLAN_ALIASES.get(identifier, identifier)
    plans = Plan.objects.active()
    plan = plans.filter(code=identifier).first()
    if plan is None:
        try:
            plan_uuid = uuid.UUID(identifier)
        except ValueError:
            raise PlanNotFound() from None
        plan = plans.filter(uuid=plan_uuid).first()
    if plan is None:
        raise PlanNotFound()
    return plan


def subscription_check_purchasable(*, user: User, plan: Plan, now: datetime) -> None:
    """Refuse at creation a purchase that would give nothing the user does not already hold
    (subscriptions/entitlements.py::place): 409 `plan_not_purchasable` with the reason."""
    placement = entitlement_check(user=user, plan=plan, now=now)
    if placement.verdict == "refuse":
        raise PlanNotPurchasable(placement.reason)


@transaction.atomic
def subscription_activate_free(*, user: User, plan: Plan, now: datetime) -> Subscription:
    """`POST /subscriptions/upgrade` for a zero-price plan: active at once, no payment.

    Only for a user with no plan at all: a free plan would otherwise only queue behind a paid one.
    """
    if not plan.is_free:
        raise PlanNotPurchasable("Only a free plan can be activated without a payment.")
    current = subscription_get_active(user=user, now=now)
    if current is not None:
        raise PlanNotPurchasable(
            f"Your {current.plan.name} subscription already includes everything in {plan.name}.",
            extra={"current_plan": current.plan.code},
        )
    result = entitlement_grant(user=user, plan=plan, now=now)
    if not result.granted or result.subscription is None:
        raise PlanNotPurchasable(result.reason)
    return result.subscription


@transaction.atomic
def subscription_cancel(
    *,
    subscription_id: uuid.UUID | str,
    actor: User,
    reason: str = "",
    immediate: bool = False,
    now: datetime,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Subscription:
    """Cancel at period end (auto-renew off, access until `end_date`), or at once when an admin asks.

    An admin's immediate cancel also ends at once a subscription its user already cancelled at period end
    (staff must be able to end access now); its `cancelled_at` stays the time of the first request and the
    reason is the admin's when given. Nothing is refunded here: a refund is the separate admin action.
    The caller has already checked that `actor` may act on this subscription.
    """
    # Lock order user -> subscription, as every grant does (subscriptions/entitlements.py).
    user_id = Subscription.objects.values_list("user_id", flat=True).get(pk=subscription_id)
    get_user_model().objects.select_for_update().filter(pk=user_id).first()
    subscription = Subscription.objects.select_for_update().select_related("plan", "user").get(pk=subscription_id)
    ending_a_period_end_cancel = immediate and subscription.cancelled_at is not None
    if subscription.status == S.CANCELLED or (subscription.cancelled_at is not None and not immediate):
        raise AlreadyCancelled()
    if subscription.status != S.ACTIVE:
        raise SubscriptionStateConflict(f"A {subscription.status} subscription cannot be cancelled.")
    if subscription.has_lapsed(now):
        raise SubscriptionStateConflict("An expired subscription cannot be cancelled.")
    before = _audit_view(subscription)
    subscription.auto_renew = False
    if not ending_a_period_end_cancel:
        subscription.cancelled_at = now
    if reason or not ending_a_period_end_cancel:
        subscription.cancel_reason = (reason or "")[:500]
    fields = ["auto_renew", "cancelled_at", "cancel_reason", "updated_at"]
    if immediate:
        transition(subscription, S.CANCELLED)
        subscription.end_date = now
        fields += ["status", "end_date"]
        entitlements_end_all(user=subscription.user, note="cancelled at once by an admin", now=now)
    subscription.save(update_fields=fields)
    audit_log_record(
        action="subscription.cancel",
        actor=actor,
        resource_type="subscription",
        resource_id=subscription.pk,
        before=before,
        after={**_audit_view(subscription), "immediate": immediate},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return subscription


def subscription_cancel_own_active(
    *, user: User, now: datetime, reason: str = "", ip_address: str | None = None, user_agent: str = ""
) -> Subscription:
    current = subscription_get_active(user=user, now=now)
    if current is None:
        raise NoActiveSubscription()
    return subscription_cancel(
        subscription_id=current.pk, actor=user, reason=reason, now=now, ip_address=ip_address, user_agent=user_agent
    )


def subscriptions_expire(*, now: datetime, batch_size: int = 500) -> int:
    """Move users whose current grant has run out on to their next grant, expiring subscriptions with
    nothing left (subscriptions/entitlements.py::entitlements_advance). Returns how many users moved on."""
    return entitlements_advance(now=now, batch_size=batch_size)


def parked_time_refund_after_grant(*, user: User, payment_id: uuid.UUID) -> int:
    """Refund in full every other payment whose time now waits behind a lifetime grant (docs/payments.md, rule 6).

    Runs in the transaction that granted `payment_id`, which holds that payment's row and the user's. The other
    payments' rows are taken with SKIP LOCKED: the lock order is payment before user, so waiting here could
    deadlock with, say, an operator's refund of one of them; one held elsewhere is left to
    `parked_time_refund`, the sweep. Returns how many refunds were decided.
    """
    ids = parked_payment_ids(user_id=user.pk, exclude_payment_id=payment_id)
    decided = 0
    # NO KEY UPDATE: only `refund_reason` changes, and it must not block rows that merely reference the payment.
    locked = Payment.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
    for payment in locked.filter(pk__in=ids).order_by("pk"):
        reason = parked_reason(user_id=user.pk, payment_id=payment.pk)
        if reason is not None and refund_open_automatic(payment=payment, reason=reason) is not None:
            decided += 1
    return decided


def parked_time_refund(*, limit: int = 100) -> int:
    """The sweep behind `parked_time_refund_after_grant` (job `subscriptions.refund_parked_time`): every payment
    whose time waits behind a lifetime grant and is not refunded yet gets its automatic full refund. Each in its
    own transaction, locking payment then user (the usual order). Returns how many refunds were decided."""
    open_refund = Refund.objects.filter(
        payment=OuterRef("pk"), status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED, RefundStatus.COMPLETED]
    )
    due = list(
        Payment.objects.filter(pk__in=parked_payment_ids(), status=PaymentStatus.SUCCESS)
        .filter(~Exists(open_refund))
        .order_by("completed_at")
        .values_list("pk", flat=True)[:limit]
    )
    decided = 0
    for payment_id in due:
        with transaction.atomic():
            # NO KEY UPDATE: a grant being written for this payment (it references the row) does not wait for
            # us while we wait for the user's row it holds.
            payment = Payment.objects.select_for_update(no_key=True, of=("self",)).filter(pk=payment_id).first()
            owner = Grant.objects.filter(payment_id=payment_id).values_list("user_id", flat=True).first()
            if payment is None or owner is None:
                continue
            get_user_model().objects.select_for_update().filter(pk=owner).first()
            reason = parked_reason(user_id=owner, payment_id=payment_id)
            if reason is not None and refund_open_automatic(payment=payment, reason=reason) is not None:
                decided += 1
    if decided:
        logger.info("parked time refunded", extra={"count": decided})
    return decided


def _audit_view(subscription: Subscription) -> dict[str, Any]:
    return {
        "status": subscription.status,
        "auto_renew": subscription.auto_renew,
        "end_date": subscription.end_date.isoformat() if subscription.end_date else None,
        "cancelled_at": subscription.cancelled_at.isoformat() if subscription.cancelled_at else None,
    }
