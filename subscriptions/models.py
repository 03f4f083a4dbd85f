import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Entitlement(models.TextChoices):
    """Names a plan's `features` may hold. Rooms and other apps gate on these, never on roles."""

    PREMIUM_THEMED_ROOMS = "premium_themed_rooms", "All premium themed rooms"
    AR_PREMIER_ROOMS = "ar_premier_rooms", "AR themed rooms of the premier tier"
    AR_PLUS_ROOMS = "ar_plus_rooms", "AR themed rooms of the plus tier"
    THERAPY_SESSIONS = "therapy_sessions", "Therapy sessions"
    AI_COMPANION = "ai_companion", "AnytimeBuddy AI companion"
    SOUND_TRACKS = "sound_tracks", "Sound therapy tracks"
    BASIC_CONTENT = "basic_content", "Free content"


class PlanPeriod(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"
    LIFETIME = "lifetime", "Lifetime"
    ONE_TIME = "one_time", "One time"


class PlanType(models.TextChoices):
    RECURRING = "recurring", "Recurring"
    ONE_TIME = "one_time", "One time"


class PlanQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Plan(models.Model):
    """A purchasable plan. `code` is its public id (e.g. `premium_monthly`)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    display_name = models.CharField(max_length=150)
    description = models.TextField(blank=True, default="")
    amount_paise = models.PositiveIntegerField(help_text="Price in paise (₹1 = 100 paise).")
    currency = models.CharField(max_length=3, default="INR")
    period = models.CharField(max_length=10, choices=PlanPeriod.choices)
    duration_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means lifetime.")
    type = models.CharField(max_length=10, choices=PlanType.choices, default=PlanType.RECURRING)
    features = models.JSONField(default=list, blank=True, help_text="Entitlement names, see Entitlement.")
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    display_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "amount_paise"]

    def __str__(self):
        return self.code

    @property
    def is_free(self) -> bool:
        return self.amount_paise == 0


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"


class SubscriptionQuerySet(models.QuerySet):
    def current(self):
        """Active by status and by date: expiry is by date everywhere (api.md §4)."""
        now = timezone.now()
        return self.filter(status=SubscriptionStatus.ACTIVE).filter(Q(end_date__isnull=True) | Q(end_date__gt=now))


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True, help_text="Empty means lifetime.")
    auto_renew = models.BooleanField(
        default=False, help_text="True exactly when an active Autopay mandate will renew this subscription."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="active"), name="one_active_subscription_per_user"
            ),
        ]

    def __str__(self):
        return f"{self.plan_id} for {self.user_id} ({self.status})"

    def has_lapsed(self, now=None) -> bool:
        """Past its end date: expiry is by date everywhere (api.md §4), whatever the status column says."""
        return self.end_date is not None and self.end_date <= (now or timezone.now())

    @property
    def effective_status(self) -> str:
        """The real status: an `active` row past its end date is expired even before the command marks it."""
        if self.status == SubscriptionStatus.ACTIVE and self.has_lapsed():
            return SubscriptionStatus.EXPIRED
        return self.status
