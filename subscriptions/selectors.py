"""Reads about what a user's subscription entitles them to."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from django.db.models import QuerySet

from accounts.models import User
from manas360.db_rows import JoinedRowQuery
from subscriptions.errors import SubscriptionNotFound
from subscriptions.models import Plan, Subscription, SubscriptionStatus

_SUB = Subscription._meta
# Concrete columns of Subscription (typed Any: Django's `get_field` may also answer a reverse relation).
_SUB_USER, _SUB_STATUS, _SUB_END, _SUB_PLAN, _SUB_CREATED = (
    cast(Any, _SUB.get_field(name)) for name in ("user", "status", "end_date", "plan", "created_at")
)

# `Subscription.objects.current().select_related("plan").filter(user=user).first()` written once per connection
# (it runs on every `/users/me` and every signed-in theme list: no ORM compilation per call). The DB constraint
# `one_active_subscription_per_user` makes the row unique; the ORDER BY keeps `.first()`'s order regardless.
_ACTIVE_WITH_PLAN = JoinedRowQuery(
    [(Subscription, "s"), (Plan, "p")],
    lambda q: (
        f"FROM {q(_SUB.db_table)} {q('s')} "
        f"INNER JOIN {q(Plan._meta.db_table)} {q('p')} "
        f"ON {q('p')}.{q(cast(Any, Plan._meta.pk).column)} = {q('s')}.{q(_SUB_PLAN.column)} "
        f"WHERE {q('s')}.{q(_SUB_USER.column)} = %s AND {q('s')}.{q(_SUB_STATUS.column)} = %s "
        f"AND ({q('s')}.{q(_SUB_END.column)} IS NULL OR {q('s')}.{q(_SUB_END.column)} > %s) "
        f"ORDER BY {q('s')}.{q(_SUB_CREATED.column)} DESC LIMIT 1"
    ),
)


def subscription_get_active(*, user: User | None, now: datetime) -> Subscription | None:
    """The user's subscription active and unexpired at `now`, with its plan, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    found = _ACTIVE_WITH_PLAN.fetch_one(
        [(_SUB_USER, user.pk), (_SUB_STATUS, SubscriptionStatus.ACTIVE.value), (_SUB_END, now)]
    )
    if found is None:
        return None
    subscription, plan = found
    _SUB_PLAN.set_cached_value(subscription, plan)
    return cast(Subscription, subscription)


def user_entitlements(*, user: User | None, now: datetime) -> frozenset[str]:
    """The entitlement names the user's active subscription grants (empty when none)."""
    subscription = subscription_get_active(user=user, now=now)
    if subscription is None:
        return frozenset()
    return frozenset(subscription.plan.features or [])


def subscription_get_current(*, user: User, now: datetime) -> Subscription | None:
    """`/subscriptions/current`: the active subscription, else the most recent one, else None."""
    active = subscription_get_active(user=user, now=now)
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


def plan_names_by_code(*, codes: Collection[str]) -> dict[str, str]:
    """Plan names by code for many codes in one query (payments and reports hold a plan's code, not its row)."""
    return dict(Plan.objects.filter(code__in=codes).values_list("code", "name"))


def plan_list_public() -> QuerySet[Plan]:
    return Plan.objects.active().order_by("display_order", "amount_paise")


def subscription_summary(*, user: User, now: datetime) -> Subscription | None:
    """The subscription the user's profile shows (docs/api.md §3): the active one, or None."""
    return subscription_get_active(user=user, now=now)
