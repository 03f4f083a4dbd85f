"""Reads for themed rooms. Every session read is scoped by its owner."""

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from manas360.api.errors import NotFound
from rooms.models import RoomSession, Theme
from subscriptions.selectors import user_entitlements

# Columns the list endpoint needs; read with `.values()` so the list builds plain dicts (no model instances).
THEME_LIST_FIELDS = (
    "slug",
    "uuid",
    "title",
    "description",
    "category",
    "thumbnail_url",
    "icon",
    "tier",
    "is_real_ar",
    "duration_seconds",
    "session_count",
    "rating_count",
    "rating_sum",
)


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def caller_entitlements(*, user: User | None, now: datetime) -> frozenset[str]:
    """Entitlements of the caller (for `locked`); anonymous callers cost no query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    return user_entitlements(user=user, now=now)


def theme_list(
    *, category: str | None = None, tier: str | None = None, search: str | None = None
) -> "QuerySet[Theme, dict[str, Any]]":
    """Active themes in display order, as dicts of THEME_LIST_FIELDS."""
    queryset = Theme.objects.active()
    if category:
        queryset = queryset.filter(category__iexact=category)
    if tier:
        queryset = queryset.filter(tier=tier)
    if search:
        queryset = queryset.filter(
            Q(title__icontains=search) | Q(description__icontains=search) | Q(category__icontains=search)
        )
    rows: QuerySet[Theme, dict[str, Any]] = queryset.order_by("display_order", "title", "pk").values(*THEME_LIST_FIELDS)
    return rows


def theme_page(
    *, offset: int, limit: int, category: str | None = None, tier: str | None = None, search: str | None = None
) -> list[dict[str, Any]]:
    """One page of `theme_list(...)` (dicts of THEME_LIST_FIELDS)."""
    return list(theme_list(category=category, tier=tier, search=search)[offset : offset + limit])


def theme_get(*, theme_id: object) -> Theme:
    """An active theme by its slug or its UUID; anything else is a 404."""
    reference = str(theme_id or "").strip()
    parsed = _as_uuid(reference)
    lookup = Q(uuid=parsed) if parsed else Q(slug=reference)
    theme: Theme | None = Theme.objects.active().filter(lookup).first() if reference else None
    if theme is None:
        raise NotFound("Theme not found.")
    return theme


def room_session_list(*, user: User) -> QuerySet[RoomSession]:
    return RoomSession.objects.filter(user=user).select_related("theme").order_by("-started_at", "-pk")


def room_session_get(*, session_id: object, user: User) -> RoomSession:
    """The caller's own session; another user's or a malformed id is a 404, never a hint."""
    parsed = _as_uuid(session_id)
    session = room_session_list(user=user).filter(pk=parsed).first() if parsed else None
    if session is None:
        raise NotFound("Session not found.")
    return session
