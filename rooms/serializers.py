"""Input validation (DRF serializers) and output builders (plain functions: the theme list is hot)."""

from datetime import datetime

from rest_framework import serializers

from rooms.access import tier_is_open
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier

# --- input -----------------------------------------------------------------------------------------


class SessionStartInput(serializers.Serializer):
    theme_id = serializers.CharField(max_length=100)
    device_info = serializers.DictField(required=False, allow_null=True)
    device_type = serializers.CharField(max_length=30, required=False, allow_blank=True, allow_null=True)
    timer_seconds = serializers.IntegerField(min_value=1, max_value=4 * 3600, required=False, allow_null=True)
    mood_before = serializers.IntegerField(min_value=1, max_value=10, required=False, allow_null=True)
    session_data = serializers.DictField(required=False, allow_null=True)


class SessionEndInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    feedback = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    mood_after = serializers.IntegerField(min_value=1, max_value=10, required=False, allow_null=True)
    completed_full_timer = serializers.BooleanField(required=False, allow_null=True)
    session_data = serializers.DictField(required=False, allow_null=True)
    # Sent by the web client; accepted and ignored: the server measures the duration itself.
    duration_seconds = serializers.IntegerField(min_value=0, required=False, allow_null=True)


# --- output ----------------------------------------------------------------------------------------


def _average(rating_sum: int, rating_count: int) -> float:
    return round(rating_sum / rating_count, 2) if rating_count else 0.0


def theme_card(row: dict, entitlements: frozenset[str]) -> dict:
    """One theme of the list, from a `.values()` row (see selectors.THEME_LIST_FIELDS)."""
    tier = row["tier"]
    return {
        "id": row["slug"],
        "uuid": str(row["uuid"]),
        "title": row["title"],
        "name": row["title"],
        "description": row["description"],
        "category": row["category"],
        "thumbnail": row["thumbnail_url"],
        "icon": row["icon"],
        "tier": tier,
        "is_premium": tier != ThemeTier.FREE,
        "isRealAR": row["is_real_ar"],  # the web client reads this exact spelling
        "duration_seconds": row["duration_seconds"],
        "sessions": row["session_count"],
        "rating": _average(row["rating_sum"], row["rating_count"]),
        "locked": not tier_is_open(tier, entitlements),
    }


def theme_detail(theme: Theme, entitlements: frozenset[str]) -> dict:
    row = {"slug": theme.slug, **{name: getattr(theme, name) for name in _DETAIL_FIELDS}}
    return {
        **theme_card(row, entitlements),
        "videos": theme.videos or [],
        "audio_tracks": theme.audio_tracks or [],
        "benefits": theme.benefits or [],
        "instructions": theme.instructions,
        "reviews": theme.rating_count,
    }


_DETAIL_FIELDS = (
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


def _first_url(media) -> str | None:
    for item in media or []:
        if isinstance(item, dict) and item.get("url"):
            return item["url"]
    return None


def session_started(session: RoomSession) -> dict:
    theme = session.theme
    return {
        "id": str(session.pk),
        "session_id": str(session.pk),
        "theme_id": theme.slug,
        "status": session.status,
        "started_at": session.started_at,
        "estimated_duration": session.estimated_duration_seconds,
        "timer_seconds": session.timer_seconds,
        "mood_before": session.mood_before,
        "video_url": _first_url(theme.videos),
        "audio_url": _first_url(theme.audio_tracks),
    }


def session_ended(session: RoomSession) -> dict:
    return {
        "id": str(session.pk),
        "session_id": str(session.pk),
        "status": session.status,
        "completed_at": session.ended_at,
        "duration": session.duration_seconds,
        "rating": session.rating,
        "feedback": session.feedback,
        "mood_after": session.mood_after,
        "completed_full_timer": session.completed_full_timer,
        "points": session.points,
    }


def session_detail(session: RoomSession, *, now: datetime) -> dict:
    estimated = session.estimated_duration_seconds
    if session.status == RoomSessionStatus.IN_PROGRESS:
        elapsed = max(int((now - session.started_at).total_seconds()), 0)
    elif session.duration_seconds is not None:
        elapsed = session.duration_seconds
    else:  # abandoned: time until it was closed (closing sets ended_at; `now` only stands in for the type)
        elapsed = max(int(((session.ended_at or now) - session.started_at).total_seconds()), 0)
    return {
        "id": str(session.pk),
        "session_id": str(session.pk),
        "theme_id": session.theme.slug,
        "theme_title": session.theme.title,
        "status": session.status,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "elapsed_time": elapsed,
        "estimated_duration": estimated,
        "completion_percentage": min(100, round(100 * elapsed / estimated)) if estimated else 0,
        "duration_seconds": session.duration_seconds,
        "timer_seconds": session.timer_seconds,
        "mood_before": session.mood_before,
        "mood_after": session.mood_after,
        "rating": session.rating,
        "feedback": session.feedback,
        "completed_full_timer": session.completed_full_timer,
        "points": session.points,
        "device_type": session.device_type,
        "device_info": session.device_info,
        "session_data": session.session_data,
    }
