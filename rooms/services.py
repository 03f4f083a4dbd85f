"""Writes for themed rooms: access checks, starting and ending sessions, closing abandoned ones.

Rules (docs/api.md §6, §11; the points formula and the abandonment rule are in docs/rooms.md).
"""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Coalesce, Greatest

from accounts.models import User
from manas360.api.errors import NotFound
from rooms.access import tier_is_open, tier_required_feature
from rooms.catalogue import catalogue_changed
from rooms.errors import FeatureNotAvailable, SessionAlreadyEnded, SubscriptionRequired
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier
from rooms.selectors import _as_uuid, theme_get
from subscriptions.selectors import subscription_get_active

POINTS_PER_MINUTE = 1
FULL_TIMER_BONUS_POINTS = 5
ABANDON_AFTER_AT_LEAST = timedelta(hours=4)
ABANDON_AFTER_DURATION_MULTIPLIER = 3


def theme_access_check(*, user: User, theme: Theme, now: datetime) -> None:
    """Free themes are open to any signed-in user; paid tiers need an active plan that covers them."""
    if theme.tier == ThemeTier.FREE:
        return
    subscription = subscription_get_active(user=user, now=now)
    if subscription is None:
        raise SubscriptionRequired(extra={"required_feature": tier_required_feature(theme.tier), "action": "subscribe"})
    if not tier_is_open(theme.tier, frozenset(subscription.plan.features or [])):
        raise FeatureNotAvailable(
            f"Your {subscription.plan.display_name or subscription.plan.code} plan does not include "
            f"{theme.get_tier_display().lower()} themes.",
            extra={
                "required_feature": tier_required_feature(theme.tier),
                "current_plan": subscription.plan.code,
                "action": "upgrade_plan",
            },
        )


def room_session_points(*, duration_seconds: int, estimated_duration_seconds: int, completed_full_timer: bool) -> int:
    """1 point per full minute spent, at most the session's planned minutes, plus a bonus for finishing the timer."""
    planned_minutes = -(-estimated_duration_seconds // 60)  # ceil
    minutes = min(duration_seconds // 60, planned_minutes)
    return minutes * POINTS_PER_MINUTE + (FULL_TIMER_BONUS_POINTS if completed_full_timer else 0)


@transaction.atomic
def room_session_start(
    *,
    user: User,
    theme_id: str,
    now: datetime,
    device_info: dict[str, Any] | None = None,
    device_type: str | None = None,
    timer_seconds: int | None = None,
    mood_before: int | None = None,
    session_data: dict[str, Any] | None = None,
) -> RoomSession:
    """Open a session on a theme the caller may use; their previous open session is closed as abandoned."""
    theme = theme_get(theme_id=theme_id)
    theme_access_check(user=user, theme=theme, now=now)
    # Serialise starts per user so two concurrent starts cannot both pass the "no open session" state
    # and trip the one-open-session constraint; the lock is released at commit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    # `now` is the caller's, read before this lock: a concurrent start that held the lock first may have opened
    # its session a moment "after" it, and a session never ends before it started (a CHECK constraint).
    RoomSession.objects.filter(user=user, status=RoomSessionStatus.IN_PROGRESS).update(
        status=RoomSessionStatus.ABANDONED,
        ended_at=Greatest(Value(now, output_field=DateTimeField()), F("started_at")),
        points=0,
    )
    return RoomSession.objects.create(
        user=user,
        theme=theme,
        status=RoomSessionStatus.IN_PROGRESS,
        started_at=now,
        timer_seconds=timer_seconds,
        mood_before=mood_before,
        device_type=(device_type or "web")[:30],
        device_info=device_info or {},
        session_data=session_data or {},
    )


@transaction.atomic
def room_session_end(
    *,
    user: User,
    session_id: object,
    now: datetime,
    rating: int | None = None,
    feedback: str | None = None,
    notes: str | None = None,
    mood_after: int | None = None,
    completed_full_timer: bool | None = None,
    session_data: dict[str, Any] | None = None,
) -> RoomSession:
    """End the caller's open session once: the server measures the duration and awards the points."""
    parsed = _as_uuid(session_id)
    session = (
        RoomSession.objects.select_for_update(of=("self",)).select_related("theme").filter(pk=parsed, user=user).first()
        if parsed
        else None
    )
    if session is None:
        raise NotFound("Session not found.")
    if session.status != RoomSessionStatus.IN_PROGRESS:
        raise SessionAlreadyEnded(extra={"status": session.status})

    duration = max(int((now - session.started_at).total_seconds()), 0)
    estimated = session.estimated_duration_seconds
    # The timer counts as finished when the server-measured time reaches it, unless the client says otherwise.
    finished_timer = duration >= estimated and completed_full_timer is not False

    session.status = RoomSessionStatus.COMPLETED
    session.ended_at = max(now, session.started_at)  # `now` was read before the row lock (see room_session_start)
    session.duration_seconds = duration
    session.completed_full_timer = finished_timer
    session.points = room_session_points(
        duration_seconds=duration, estimated_duration_seconds=estimated, completed_full_timer=finished_timer
    )
    session.rating = rating
    session.mood_after = mood_after
    text = feedback if feedback else notes
    session.feedback = (text or "").strip()
    if session_data:
        session.session_data = {**(session.session_data or {}), **session_data}
    session.save(
        update_fields=[
            "status",
            "ended_at",
            "duration_seconds",
            "completed_full_timer",
            "points",
            "rating",
            "mood_after",
            "feedback",
            "session_data",
        ]
    )

    counters = {"session_count": F("session_count") + 1}
    if rating is not None:
        counters.update(rating_count=F("rating_count") + 1, rating_sum=F("rating_sum") + rating)
    Theme.objects.filter(pk=session.theme_id).update(**counters)
    catalogue_changed()  # the cards show these counters; update() sends no signal
    return session


def room_sessions_close_abandoned(*, now: datetime, older_than: timedelta | None = None) -> int:
    """Close sessions left open: older than `older_than` when given, else older than
    max(4 h, 3 x their planned length). They become `abandoned` with no points and no duration."""
    open_sessions = RoomSession.objects.filter(status=RoomSessionStatus.IN_PROGRESS)
    if older_than is not None:
        stale = open_sessions.filter(started_at__lt=now - older_than)
    else:
        planned = Coalesce(F("timer_seconds"), F("theme__duration_seconds"))
        allowed = Greatest(
            Value(ABANDON_AFTER_AT_LEAST, output_field=DurationField()),
            ExpressionWrapper(
                planned * Value(timedelta(seconds=ABANDON_AFTER_DURATION_MULTIPLIER)), output_field=DurationField()
            ),
        )
        stale = open_sessions.alias(deadline=ExpressionWrapper(F("started_at") + allowed, output_field=DateTimeField()))
        stale = stale.filter(deadline__lt=now)
    stale_ids = list(stale.values_list("pk", flat=True))
    if not stale_ids:
        return 0
    # `status` is re-checked on the row itself (not only in a subquery), so PostgreSQL re-evaluates it
    # after waiting for a concurrent end's lock and skips the row that end completed.
    return RoomSession.objects.filter(pk__in=stale_ids, status=RoomSessionStatus.IN_PROGRESS).update(
        status=RoomSessionStatus.ABANDONED, ended_at=now, points=0
    )
