"""Writes and state changes of subscriptions (api.md §4).

Every status change goes through `_transition`, the one place that knows which
moves are legal. Callers that change a user's subscriptions hold the user's row
lock (`_lock_user`) so that two grants for the same user never race on the
"one active subscription per user" constraint; lock order is always
payment row -> user row -> subscription rows.
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from subscriptions.errors import (
    AlreadyCancelled,
    NoActiveSubscription,
    PlanNotFound,
    PlanNotPurchasable,
    SubscriptionStateConflict,
)
from subscriptions.models import Plan, Subscription, SubscriptionStatus

logger = logging.getLogger("manas360.subscriptions")

S = SubscriptionStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.ACTIVE, S.CANCELLED, S.EXPIRED},
    S.ACTIVE: {S.CANCELLED, S.EXPIRED, S.SUPERSEDED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.SUPERSEDED: set(),
}

PLAN_ALIASES = {"plan_premium": "premium_monthly"}


def _transition(subscription: Subscription, to_status: str) -> None:
    if to_status not in ALLOWED_TRANSITIONS[subscription.status]:
        raise SubscriptionStateConflict(f"A {subscription.status} subscription cannot become {to_status}.")
    subscription.status = to_status


def plan_resolve(*, plan_identifier) -> Plan:
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


def _lock_user(user) -> None:
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _locked_active(user) -> Subscription | None:
    return Subscription.objects.select_for_update().filter(user=user, status=S.ACTIVE).first()


def subscription_check_purchasable(*, user, plan: Plan) -> None:
    """Refuse a purchase that would take something away from the user.

    api.md §4 says a different plan replaces the current one from now. Buying a plan
    whose entitlements the current one already covers (a ₹30 track while on Premium,
    a monthly plan while on the lifetime plan, the free plan while paying) would only
    shorten what the user has, so it is refused with 409 `plan_not_purchasable`.
    Extending the same plan is always allowed, except a lifetime one.
    """
    from subscriptions.selectors import subscription_get_active

    current = subscription_get_active(user=user)
    if current is None:
        return
    current_features = set(current.plan.features or [])
    new_features = set(plan.features or [])
    if current.plan_id == plan.pk:
        if current.end_date is None:
            raise PlanNotPurchasable("You already have this plan for life.")
        if plan.is_free:
            raise PlanNotPurchasable("You already have this plan.")
        return
    if new_features < current_features or (new_features <= current_features and current.end_date is None):
        raise PlanNotPurchasable(
            f"Your {current.plan.name} subscription already includes everything in {plan.name}.",
            extra={"current_plan": current.plan.code},
        )


def subscription_grant(*, user, plan: Plan, now: datetime | None = None) -> Subscription:
    """Activate or extend `plan` for `user` (api.md §4). Caller holds a transaction.

    Same plan: extended by one period from its current end date. Different plan: the
    old one is superseded and the new one runs from now. Lifetime plans have no end.
    An `active` row whose end date has passed is expired first (expiry is by date).
    """
    now = now or timezone.now()
    _lock_user(user)
    current = _locked_active(user)
    if current is not None and current.has_lapsed(now):
        _transition(current, S.EXPIRED)
        current.auto_renew = False
        current.save(update_fields=["status", "auto_renew", "updated_at"])
        current = None
    if current is not None and current.plan_id == plan.pk:
        if current.end_date is not None and plan.duration_days is not None:
            current.end_date = current.end_date + timedelta(days=plan.duration_days)
        elif plan.duration_days is None:
            current.end_date = None
        # Paying again undoes a cancel-at-period-end.
        current.cancelled_at = None
        current.cancel_reason = ""
        # auto_renew is not touched: it says whether an Autopay mandate renews this subscription (autopay app).
        current.save(update_fields=["end_date", "cancelled_at", "cancel_reason", "updated_at"])
        logger.info("subscription extended", extra={"subscription_id": str(current.pk), "plan": plan.code})
        return current
    if current is not None:
        _transition(current, S.SUPERSEDED)
        current.auto_renew = False
        current.end_date = now
        current.save(update_fields=["status", "auto_renew", "end_date", "updated_at"])
    subscription = Subscription(user=user, plan=plan, start_date=now, status=S.PENDING)
    subscription.end_date = None if plan.duration_days is None else now + timedelta(days=plan.duration_days)
    subscription.auto_renew = False  # true only once an Autopay mandate renews it (autopay app)
    _transition(subscription, S.ACTIVE)
    subscription.save()
    logger.info("subscription activated", extra={"subscription_id": str(subscription.pk), "plan": plan.code})
    return subscription


@transaction.atomic
def subscription_activate_free(*, user, plan: Plan) -> Subscription:
    """`POST /subscriptions/upgrade` for a zero-price plan: active at once, no payment."""
    if not plan.is_free:
        raise PlanNotPurchasable("Only a free plan can be activated without a payment.")
    subscription_check_purchasable(user=user, plan=plan)
    return subscription_grant(user=user, plan=plan)


def subscription_end_for_refund(*, subscription: Subscription, now: datetime | None = None) -> None:
    """A refunded payment ends the subscription it paid for, at once. Caller holds a transaction."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status != S.ACTIVE:
        return
    _transition(subscription, S.CANCELLED)
    subscription.auto_renew = False
    subscription.cancelled_at = subscription.cancelled_at or now
    subscription.cancel_reason = "refunded"
    subscription.end_date = now
    subscription.save(update_fields=["status", "auto_renew", "cancelled_at", "cancel_reason", "end_date", "updated_at"])


@transaction.atomic
def subscription_cancel(
    *,
    subscription_id,
    actor,
    reason: str = "",
    immediate: bool = False,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Subscription:
    """Cancel at period end (auto-renew off, access until `end_date`), or at once when an admin asks.

    The caller has already checked that `actor` may act on this subscription.
    """
    subscription = Subscription.objects.select_for_update().select_related("plan").get(pk=subscription_id)
    if subscription.status == S.CANCELLED or subscription.cancelled_at is not None:
        raise AlreadyCancelled()
    if subscription.status != S.ACTIVE:
        raise SubscriptionStateConflict(f"A {subscription.status} subscription cannot be cancelled.")
    now = timezone.now()
    if subscription.has_lapsed(now):
        raise SubscriptionStateConflict("An expired subscription cannot be cancelled.")
    before = _audit_view(subscription)
    subscription.auto_renew = False
    subscription.cancelled_at = now
    subscription.cancel_reason = (reason or "")[:500]
    fields = ["auto_renew", "cancelled_at", "cancel_reason", "updated_at"]
    if immediate:
        _transition(subscription, S.CANCELLED)
        subscription.end_date = now
        fields += ["status", "end_date"]
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


def subscription_cancel_own_active(*, user, reason: str = "", ip_address=None, user_agent: str = "") -> Subscription:
    from subscriptions.selectors import subscription_get_active

    current = subscription_get_active(user=user)
    if current is None:
        raise NoActiveSubscription()
    return subscription_cancel(
        subscription_id=current.pk, actor=user, reason=reason, ip_address=ip_address, user_agent=user_agent
    )


def subscriptions_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Mark active rows whose end date has passed as expired. Returns how many moved."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                Subscription.objects.select_for_update(skip_locked=True)
                .filter(status=S.ACTIVE, end_date__isnull=False, end_date__lte=now)
                .order_by("end_date")[:batch_size]
            )
            for subscription in batch:
                _transition(subscription, S.EXPIRED)
                subscription.auto_renew = False
                subscription.save(update_fields=["status", "auto_renew", "updated_at"])
        expired += len(batch)
        if len(batch) < batch_size:
            return expired


def _audit_view(subscription: Subscription) -> dict:
    return {
        "status": subscription.status,
        "auto_renew": subscription.auto_renew,
        "end_date": subscription.end_date.isoformat() if subscription.end_date else None,
        "cancelled_at": subscription.cancelled_at.isoformat() if subscription.cancelled_at else None,
    }
