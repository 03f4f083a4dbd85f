"""Reads for the staff surface (admin API and Django admin). Every list is built for a fixed query count."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, OrderBy, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Concat, Lower

from accounts.models import AuditLog, AuthSession, User
from accounts.roles import Role
from manas360.api.errors import NotFound
from payments.models import Payment, PaymentStatus
from rooms.models import RoomSession, RoomSessionStatus
from subscriptions.models import Plan, Subscription

_PHONE_LIKE = re.compile(r"^[+\d\s().-]{4,}$")


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _current_subscriptions_prefetch(now: datetime) -> "Prefetch[Any]":
    return Prefetch(
        "subscriptions",
        queryset=Subscription.objects.current(now).select_related("plan"),
        to_attr="current_subscriptions",
    )


# --- users -----------------------------------------------------------------------------------------------


def user_search_filter(search: str) -> Q:
    """Name (first, last or full), email or phone number; phone numbers match with or without spaces."""
    search = search.strip()
    condition = (
        Q(first_name__icontains=search)
        | Q(last_name__icontains=search)
        | Q(search_full_name__icontains=search)
        | Q(email__icontains=search)
        | Q(phone_number__icontains=search)
    )
    if _PHONE_LIKE.match(search):
        digits = re.sub(r"\D", "", search)
        if digits:
            condition |= Q(phone_number__icontains=digits)
    return condition


def users_with_search_name(queryset: QuerySet[User] | None = None) -> QuerySet[User]:
    queryset = queryset if queryset is not None else User.objects.all()
    return queryset.annotate(search_full_name=Concat("first_name", Value(" "), "last_name"))


_USER_SORTS: dict[str, tuple[F | Lower, ...]] = {
    "createdAt": (F("created_at"),),
    "name": (Lower("first_name"), Lower("last_name")),
    "email": (Lower("email"),),
}


def admin_user_list(
    *,
    now: datetime,
    role: str | None = None,
    search: str | None = None,
    status: str | None = None,
    sort_by: str = "createdAt",
    order: str = "desc",
    verified: bool | None = None,
) -> QuerySet[Any]:
    """Users that are not deleted, with their current subscription prefetched (`current_subscriptions`)."""
    queryset = users_with_search_name(User.objects.alive())
    if role:
        queryset = queryset.filter(role=role)
    if status == "active":
        queryset = queryset.filter(is_active=True)
    elif status == "suspended":
        queryset = queryset.filter(is_active=False)
    if verified is not None:
        queryset = queryset.filter(is_verified=verified)
    if search:
        queryset = queryset.filter(user_search_filter(search))
    descending = order == "desc"
    ordering: list[OrderBy | str] = [
        expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        for expression in _USER_SORTS[sort_by]
    ]
    ordering.append("-id" if descending else "id")  # a stable order across pages
    return queryset.order_by(*ordering).prefetch_related(_current_subscriptions_prefetch(now))


def admin_user_get(*, user_id: object, now: datetime) -> User:
    """A not-deleted user by id; malformed or unknown ids are 404."""
    pk = parse_uuid(user_id)
    user: User | None = (
        User.objects.alive().filter(pk=pk).prefetch_related(_current_subscriptions_prefetch(now)).first()
        if pk
        else None
    )
    if user is None:
        raise NotFound("User not found.")
    return user


def admin_user_get_for_update(*, user_id: object) -> User:
    pk = parse_uuid(user_id)
    user: User | None = User.objects.alive().select_for_update().filter(pk=pk).first() if pk else None
    if user is None:
        raise NotFound("User not found.")
    return user


@dataclass(frozen=True)
class UserActivity:
    session_count: int
    completed_session_count: int
    total_minutes: int
    last_active: datetime | None
    active_login_sessions: int


def admin_user_activity(*, user: User) -> UserActivity:
    """Room-session totals and the last sign of life (a login, a token use or a room session)."""
    rooms = RoomSession.objects.filter(user=user).aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=RoomSessionStatus.COMPLETED)),
        seconds=Coalesce(Sum("duration_seconds"), 0),
        last_started=Max("started_at"),
        last_ended=Max("ended_at"),
    )
    logins = AuthSession.objects.filter(user=user).aggregate(
        live=Count("id", filter=Q(revoked_at__isnull=True)), last_used=Max("last_used_at")
    )
    moments = [rooms["last_started"], rooms["last_ended"], logins["last_used"], user.last_login]
    moments = [moment for moment in moments if moment is not None]
    return UserActivity(
        session_count=rooms["total"],
        completed_session_count=rooms["completed"],
        total_minutes=round(rooms["seconds"] / 60),
        last_active=max(moments) if moments else None,
        active_login_sessions=logins["live"],
    )


def admin_user_subscriptions(*, user: User) -> QuerySet[Any]:
    return Subscription.objects.filter(user=user).select_related("plan").order_by("-created_at")


# --- subscriptions and payments ------------------------------------------------------------------------------


def admin_subscription_list(*, status: str | None = None, plan: str | None = None) -> QuerySet[Any]:
    queryset = Subscription.objects.select_related("user", "plan").order_by("-created_at", "-id")
    if status:
        queryset = queryset.filter(status=status)
    if plan:
        plan_uuid = parse_uuid(plan)
        queryset = queryset.filter(Q(plan__code=plan) | Q(plan__uuid=plan_uuid) if plan_uuid else Q(plan__code=plan))
    return queryset


def admin_subscription_get(*, subscription_id: object) -> Subscription:
    pk = parse_uuid(subscription_id)
    subscription = Subscription.objects.select_related("user", "plan").filter(pk=pk).first() if pk else None
    if subscription is None:
        raise NotFound("Subscription not found.")
    return subscription


def plan_exists(code_or_uuid: str) -> bool:
    plan_uuid = parse_uuid(code_or_uuid)
    condition = Q(code=code_or_uuid) | Q(uuid=plan_uuid) if plan_uuid else Q(code=code_or_uuid)
    return Plan.objects.filter(condition).exists()


def admin_payment_list(
    *, status: str | None = None, created_from: datetime | None = None, created_to: datetime | None = None
) -> QuerySet[Any]:
    queryset = Payment.objects.select_related("user").order_by("-created_at", "-id")
    if status:
        queryset = queryset.filter(status=status)
    if created_from:
        queryset = queryset.filter(created_at__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__lt=created_to)
    return queryset


# --- metrics ---------------------------------------------------------------------------------------------------


def admin_platform_metrics(*, now: datetime) -> dict[str, Any]:
    """Four aggregate queries, whatever the data size."""
    users = User.objects.alive().aggregate(
        total=Count("id"),
        patients=Count("id", filter=Q(role=Role.PATIENT)),
        therapists=Count("id", filter=Q(role=Role.THERAPIST)),
        verified_therapists=Count("id", filter=Q(role=Role.THERAPIST, is_verified=True)),
    )
    sessions = RoomSession.objects.aggregate(
        total=Count("id"), completed=Count("id", filter=Q(status=RoomSessionStatus.COMPLETED))
    )
    sessions["completion_rate"] = round(100 * sessions["completed"] / sessions["total"], 1) if sessions["total"] else 0
    active_subscriptions = Subscription.objects.current(now).count()
    revenue = Payment.objects.filter(status=PaymentStatus.SUCCESS).aggregate(total=Coalesce(Sum("amount_paise"), 0))
    return {
        "users": users,
        "sessions": sessions,
        "subscriptions": {"active": active_subscriptions, "revenue": revenue["total"], "currency": "INR"},
    }


# --- audit log -----------------------------------------------------------------------------------------------


def admin_audit_log_list(
    *,
    action: str | None = None,
    actor: str | None = None,
    resource: str | None = None,
    resource_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> QuerySet[Any]:
    """`action` ending in `.` or `*` is a prefix (`user.`); `actor` is a user id or an email."""
    queryset = AuditLog.objects.all().order_by("-timestamp", "-id")
    if action:
        if action.endswith(("*", ".")):
            queryset = queryset.filter(action__startswith=action.rstrip("*"))
        else:
            queryset = queryset.filter(action=action)
    if actor:
        actor_uuid = parse_uuid(actor)
        queryset = queryset.filter(actor_id=actor_uuid) if actor_uuid else queryset.filter(actor_email__iexact=actor)
    if resource:
        queryset = queryset.filter(resource_type=resource)
    if resource_id:
        queryset = queryset.filter(resource_id=resource_id)
    if created_from:
        queryset = queryset.filter(timestamp__gte=created_from)
    if created_to:
        queryset = queryset.filter(timestamp__lt=created_to)
    return queryset
