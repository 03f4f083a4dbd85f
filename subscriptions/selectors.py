"""Reads about what a user's subscription entitles them to."""

import uuid
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from subscriptions.errors import SubscriptionNotFound
from subscriptions.models import Plan, Subscription


def subscription_get_active(*, user: User | None) -> Subscription | None:
    """The user's active, unexpired subscription with its plan, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Subscription.objects.current().select_related("plan").filter(user=user).order_by("-created_at").first()


def user_entitlements(*, user: User | None) -> frozenset[str]:
    """The entitlement names the user's active subscription grants (empty when none)."""
    subscription = subscription_get_active(user=user)
    if subscription is None:
        return frozenset()
    return frozenset(subscription.plan.features or [])


def subscription_get_current(*, user: User) -> Subscription | None:
    """`/subscriptions/current`: the active subscription, else the most recent one, else None."""
    active = subscription_get_active(user=user)
    if active is not None:
        return active
    return Subscription.objects.select_related("plan").filter(user=user).order_by("-created_at").first()


def subscription_list(*, user: User) -> QuerySet[Subscription]:
    return Subscription.objects.select_related("plan").filter(user=user).order_by("-created_at")


def subscription_get(*, subscription_id: object, user: User, is_admin: bool = False) -> Subscription:
    """One subscription scoped to its owner (admins: any). Malformed or foreign ids are 404."""
    try:
        subscription_uuid = uuid.UUID(str(subscription_id))
    except ValueError:
        raise SubscriptionNotFound() from None
    queryset = Subscription.objects.select_related("plan")
    if not is_admin:
        queryset = queryset.filter(user=user)
    subscription = queryset.filter(pk=subscription_uuid).first()
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


def plan_list_public() -> QuerySet[Plan]:
    return Plan.objects.active().order_by("display_order", "amount_paise")


def subscription_summary(*, user: User) -> dict[str, Any] | None:
    """The `subscription` section of the user's profile (docs/api.md §3): the active subscription, or None."""
    subscription = subscription_get_active(user=user)
    if subscription is None:
        return None
    plan = subscription.plan
    return {
        "id": str(subscription.pk),
        "plan_id": plan.code,
        "plan_name": plan.name,
        "status": subscription.status,
        "start_date": subscription.start_date,
        "end_date": subscription.end_date,
        "auto_renew": subscription.auto_renew,
        "features": list(plan.features or []),
    }
