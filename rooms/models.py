import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class ThemeTier(models.TextChoices):
    FREE = "free", "Free"
    PREMIER = "premier", "Premier"
    PLUS = "plus", "Plus"


class ThemeQuerySet(models.QuerySet["Theme"]):
    def active(self) -> "ThemeQuerySet":
        return self.filter(is_active=True)


class Theme(models.Model):
    """A guided-relaxation environment. `slug` is its public id (the web player knows these slugs)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=50, db_index=True)
    tier = models.CharField(max_length=10, choices=ThemeTier.choices, default=ThemeTier.FREE, db_index=True)
    icon = models.CharField(max_length=16, blank=True, default="", help_text="Emoji or short text shown on the card.")
    thumbnail_url = models.URLField(max_length=500, blank=True, default="")
    videos = models.JSONField(default=list, blank=True, help_text='[{"title", "url", "durationSeconds"}]')
    audio_tracks = models.JSONField(default=list, blank=True, help_text='[{"title", "url", "durationSeconds"}]')
    benefits = models.JSONField(default=list, blank=True)
    instructions = models.TextField(blank=True, default="")
    duration_seconds = models.PositiveIntegerField(default=600)
    is_real_ar = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    # Kept by the session-end service with F() updates: `session_count` counts sessions ended by their
    # owner (completed); `rating_count`/`rating_sum` count rated sessions only.
    session_count = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ThemeQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(tier__in=ThemeTier.values), name="theme_tier_valid"),
            models.CheckConstraint(condition=Q(duration_seconds__gte=1), name="theme_duration_positive"),
            # Every rating is 1-5, so the sum of n ratings lies in [n, 5n].
            models.CheckConstraint(
                condition=Q(rating_sum__gte=F("rating_count"), rating_sum__lte=F("rating_count") * 5),
                name="theme_rating_sum_in_range",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "display_order", "title"], name="theme_list_order_idx")]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_premium(self) -> bool:
        return self.tier != ThemeTier.FREE

    @property
    def average_rating(self) -> float:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else 0.0


class RoomSessionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    ABANDONED = "abandoned", "Abandoned"


class RoomSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_sessions")
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(
        max_length=12, choices=RoomSessionStatus.choices, default=RoomSessionStatus.IN_PROGRESS, db_index=True
    )
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Computed by the server at end.")
    timer_seconds = models.PositiveIntegerField(null=True, blank=True)
    mood_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    mood_after = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    feedback = models.TextField(blank=True, default="")
    device_type = models.CharField(max_length=30, blank=True, default="web")
    device_info = models.JSONField(default=dict, blank=True)
    completed_full_timer = models.BooleanField(default=False)
    points = models.PositiveIntegerField(default=0)
    session_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="room_session_rating_1_5"
            ),
            models.CheckConstraint(
                condition=Q(mood_before__isnull=True) | Q(mood_before__gte=1, mood_before__lte=10),
                name="room_session_mood_before_1_10",
            ),
            models.CheckConstraint(
                condition=Q(mood_after__isnull=True) | Q(mood_after__gte=1, mood_after__lte=10),
                name="room_session_mood_after_1_10",
            ),
            models.CheckConstraint(condition=Q(status__in=RoomSessionStatus.values), name="room_session_status_valid"),
            # Open sessions have no end; ended (completed or abandoned) ones always have one.
            models.CheckConstraint(
                condition=(Q(status="in_progress") & Q(ended_at__isnull=True))
                | (~Q(status="in_progress") & Q(ended_at__isnull=False)),
                name="room_session_ended_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="room_session_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(timer_seconds__isnull=True) | Q(timer_seconds__gte=1), name="room_session_timer_positive"
            ),
            # One open session per user: starting a new one closes the previous (docs/api.md §6).
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="in_progress"), name="one_open_room_session_per_user"
            ),
        ]
        indexes = [models.Index(fields=["user", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.theme_id} by {self.user_id} ({self.status})"

    @property
    def estimated_duration_seconds(self) -> int:
        """The caller's timer when set, else the theme's length (needs `theme` loaded)."""
        return self.timer_seconds or self.theme.duration_seconds
