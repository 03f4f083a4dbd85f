"""Input and output serializers; theme cards are plain functions: the theme list is hot (docs/performance.md)."""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
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


class ThemeListQuery(serializers.Serializer):
    """`?tier=&category=&search=` of the catalogue; a blank value is no filter."""

    tier = serializers.ChoiceField(
        choices=ThemeTier.values,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": "Must be free, premier or plus."},
    )
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def validate(self, attrs):
        return {name: attrs.get(name) or None for name in ("category", "tier", "search")}


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


def _first_url(media: object) -> str | None:
    for item in media if isinstance(media, list) else []:
        if isinstance(item, dict) and item.get("url"):
            return item["url"]
    return None


# Session answers. Times are given to the renderer as datetimes (`_Time`) so they are written exactly as
# every other time in the API; ids are the session's UUID as a string, themes are named by their slug.


@extend_schema_field(OpenApiTypes.DATETIME)
class _Time(serializers.ReadOnlyField):
    """A datetime handed to the renderer as it is (the API's one way of writing times)."""


class _SessionIds(serializers.Serializer):
    id = serializers.CharField(source="pk")
    session_id = serializers.CharField(source="pk")


class SessionStartedSerializer(_SessionIds):
    theme_id = serializers.CharField(source="theme.slug")
    status = serializers.CharField()
    started_at = _Time()
    estimated_duration = serializers.IntegerField(source="estimated_duration_seconds")
    timer_seconds = serializers.IntegerField(allow_null=True)
    mood_before = serializers.IntegerField(allow_null=True)
    video_url = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField()

    def get_video_url(self, session: RoomSession) -> str | None:
        return _first_url(session.theme.videos)

    def get_audio_url(self, session: RoomSession) -> str | None:
        return _first_url(session.theme.audio_tracks)


class SessionEndedSerializer(_SessionIds):
    status = serializers.CharField()
    completed_at = _Time(source="ended_at")
    duration = serializers.IntegerField(source="duration_seconds", allow_null=True)
    rating = serializers.IntegerField(allow_null=True)
    feedback = serializers.CharField(allow_null=True)
    mood_after = serializers.IntegerField(allow_null=True)
    completed_full_timer = serializers.BooleanField(allow_null=True)
    points = serializers.IntegerField(allow_null=True)


class SessionDetailSerializer(_SessionIds):
    """Context `now`: the instant the elapsed time of a session in progress is measured at."""

    theme_id = serializers.CharField(source="theme.slug")
    theme_title = serializers.CharField(source="theme.title")
    status = serializers.CharField()
    started_at = _Time()
    ended_at = _Time()
    elapsed_time = serializers.SerializerMethodField()
    estimated_duration = serializers.IntegerField(source="estimated_duration_seconds")
    completion_percentage = serializers.SerializerMethodField()
    duration_seconds = serializers.IntegerField(allow_null=True)
    timer_seconds = serializers.IntegerField(allow_null=True)
    mood_before = serializers.IntegerField(allow_null=True)
    mood_after = serializers.IntegerField(allow_null=True)
    rating = serializers.IntegerField(allow_null=True)
    feedback = serializers.CharField(allow_null=True)
    completed_full_timer = serializers.BooleanField(allow_null=True)
    points = serializers.IntegerField(allow_null=True)
    device_type = serializers.CharField(allow_null=True)
    device_info = serializers.JSONField(allow_null=True)
    session_data = serializers.JSONField(allow_null=True)

    def get_elapsed_time(self, session: RoomSession) -> int:
        return session_elapsed_seconds(session, now=self.context["now"])

    def get_completion_percentage(self, session: RoomSession) -> int:
        estimated = session.estimated_duration_seconds
        elapsed = session_elapsed_seconds(session, now=self.context["now"])
        return min(100, round(100 * elapsed / estimated)) if estimated else 0


def session_elapsed_seconds(session: RoomSession, *, now: datetime) -> int:
    """Seconds so far (in progress), the measured duration (completed), or the time until it was closed."""
    if session.status == RoomSessionStatus.IN_PROGRESS:
        return max(int((now - session.started_at).total_seconds()), 0)
    if session.duration_seconds is not None:
        return session.duration_seconds
    # Abandoned without a measured duration: closing sets ended_at (`now` only stands in for the type).
    return max(int(((session.ended_at or now) - session.started_at).total_seconds()), 0)
