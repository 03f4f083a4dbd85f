import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from manas360.state_machine import StateMachine
from subscriptions.errors import SubscriptionStateConflict


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


class PlanQuerySet(models.QuerySet["Plan"]):
    def active(self) -> "PlanQuerySet":
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

    def __str__(self) -> str:
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


SUBSCRIPTION_TRANSITIONS: dict[str, set[str]] = {
    SubscriptionStatus.PENDING: {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED},
    SubscriptionStatus.ACTIVE: {
        SubscriptionStatus.CANCELLED,
        SubscriptionStatus.EXPIRED,
        SubscriptionStatus.SUPERSEDED,
    },
    SubscriptionStatus.CANCELLED: set(),
    SubscriptionStatus.EXPIRED: set(),
    SubscriptionStatus.SUPERSEDED: set(),
}
SUBSCRIPTION_MACHINE = StateMachine("subscription", SUBSCRIPTION_TRANSITIONS, refused=SubscriptionStateConflict)


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def current(self, now: datetime) -> "SubscriptionQuerySet":
        """Active at `now` by status and by date: expiry is by date everywhere (docs/api.md §4)."""
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

    def __str__(self) -> str:
        return f"{self.plan_id} for {self.user_id} ({self.status})"

    def has_lapsed(self, now: datetime) -> bool:
        """Past its end date: expiry is by date everywhere (docs/api.md §4), whatever the status column says."""
        return self.end_date is not None and self.end_date <= now

    def status_at(self, now: datetime) -> str:
        """The real status at `now`: an `active` row past its end date is expired before the job marks it."""
        if self.status == SubscriptionStatus.ACTIVE and self.has_lapsed(now):
            return SubscriptionStatus.EXPIRED
        return self.status


class GrantState(models.TextChoices):
    CURRENT = "current", "Current"
    QUEUED = "queued", "Queued"
    ENDED = "ended", "Ended"
    REVOKED = "revoked", "Revoked (refunded)"


LIVE_GRANT_STATES = (GrantState.CURRENT, GrantState.QUEUED)
# A new grant is written as current or queued. Time left over when a better plan is bought is a new queued
# row (a continuation); a grant that ended never runs again. Keep in step with the trigger in migration 0004.
GRANT_TRANSITIONS: dict[str, set[str]] = {
    GrantState.QUEUED: {GrantState.CURRENT, GrantState.ENDED, GrantState.REVOKED},
    GrantState.CURRENT: {GrantState.ENDED, GrantState.REVOKED},
    GrantState.ENDED: {GrantState.REVOKED},
    GrantState.REVOKED: set(),
}
GRANT_MACHINE = StateMachine("grant", GRANT_TRANSITIONS, field="state")


class Grant(models.Model):
    """Entitlement: one period of a plan that one payment bought (the billing view is `payments.Payment`).

    A user's live grants (current, queued) form one chain, ordered by `position`: the first is being used
    now, each next one starts when the one before it ends. `duration` is what was bought (empty = lifetime);
    `starts_at`/`ends_at` are the schedule, recomputed whenever the chain changes (empty `starts_at` = waits
    behind a lifetime grant). When a better plan is bought, the running grant stops now and a continuation
    row (`continues`) carries its unused time after the new one: a payment can own several rows, never
    overlapping. The `Subscription` the API shows is derived from this chain in the same transaction.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="grants")
    # Empty for a free plan, the only grant that no payment pays for.
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    continues = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="continuations")
    state = models.CharField(max_length=8, choices=GrantState.choices, db_index=True)
    duration = models.DurationField(null=True, blank=True, help_text="Empty means lifetime.")
    position = models.PositiveIntegerField(default=0, help_text="Order in the user's chain of live grants.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "created_at"]
        indexes = [models.Index(fields=["user", "state", "position"], name="grant_user_state_position")]
        constraints = [
            # Only the head of a chain is being used: never two current grants for one user.
            models.UniqueConstraint(fields=["user"], condition=Q(state="current"), name="one_current_grant_per_user"),
            # A grant per successful payment; only continuations (unused time moved later) share it.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(continues__isnull=True), name="one_grant_per_payment"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(starts_at__isnull=False, ends_at__gte=models.F("starts_at")),
                name="grant_period_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(state="current") | Q(starts_at__isnull=False), name="grant_current_has_started"
            ),
            models.CheckConstraint(
                condition=~Q(state="revoked") | Q(revoked_at__isnull=False), name="grant_revoked_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.state} {self.starts_at} to {self.ends_at}"
