"""UPI Autopay mandates and their renewals (docs/autopay.md).

A `Mandate` is our record of one PhonePe subscription (a UPI Autopay mandate). Its state
follows PhonePe's, confirmed through the subscription status API, and only moves along
`MANDATE_TRANSITIONS`; a PostgreSQL trigger (migration 0002) refuses any other move, so
no code path, admin action or raw update can revive an ended mandate.

A `Renewal` is one attempt to charge one period through a mandate: pre-debit notification,
debit, confirmation. At most one renewal per (mandate, cycle) is in flight and at most one
succeeds, both enforced by partial unique indexes.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from manas360.state_machine import StateMachine


class MandateState(models.TextChoices):
    ACTIVATION_IN_PROGRESS = "activation_in_progress", "Activation in progress"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    REVOKED = "revoked", "Revoked by the user"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Setup failed"


M = MandateState
# Keep in step with the trigger in migrations/0002_mandate_forward_only.py.
MANDATE_TRANSITIONS: dict[str, set[str]] = {
    M.ACTIVATION_IN_PROGRESS: {M.ACTIVE, M.FAILED, M.CANCELLED, M.EXPIRED},
    M.ACTIVE: {M.PAUSED, M.CANCELLED, M.REVOKED, M.EXPIRED},
    M.PAUSED: {M.ACTIVE, M.CANCELLED, M.REVOKED, M.EXPIRED},
    M.CANCELLED: set(),
    M.REVOKED: set(),
    M.EXPIRED: set(),
    M.FAILED: set(),
}
MANDATE_MACHINE = StateMachine("mandate", MANDATE_TRANSITIONS, field="state")
LIVE_STATES = (M.ACTIVATION_IN_PROGRESS, M.ACTIVE, M.PAUSED)
ENDED_STATES = (M.CANCELLED, M.REVOKED, M.EXPIRED, M.FAILED)

# PhonePe's subscription states -> ours. The *_IN_PROGRESS states are not final: no move.
GATEWAY_STATES = {
    "ACTIVE": M.ACTIVE,
    "PAUSED": M.PAUSED,
    "CANCELLED": M.CANCELLED,
    "REVOKED": M.REVOKED,
    "EXPIRED": M.EXPIRED,
    "FAILED": M.FAILED,
}


class Mandate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mandates")
    plan = models.ForeignKey("subscriptions.Plan", on_delete=models.PROTECT, related_name="mandates")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mandates",
        help_text="The subscription this mandate renews (set once the first charge is granted).",
    )
    setup_payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="mandate_setup", help_text="The first charge."
    )
    merchant_subscription_id = models.CharField(max_length=63, unique=True)
    gateway_subscription_id = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=30, choices=MandateState.choices, default=M.ACTIVATION_IN_PROGRESS)
    gateway_state = models.CharField(max_length=30, blank=True, default="")
    frequency = models.CharField(max_length=20)
    amount_paise = models.PositiveIntegerField(help_text="Charged each period.")
    max_amount_paise = models.PositiveIntegerField()
    expires_at = models.DateTimeField(help_text="The mandate's own validity at PhonePe.")
    redirect_url = models.URLField(max_length=1000, blank=True, default="")
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="Autopay turned off; PhonePe's confirmation may still be pending."
    )
    end_reason = models.CharField(max_length=200, blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(state__in=["active", "paused"]), name="one_live_mandate_per_user"
            ),
            models.CheckConstraint(condition=Q(amount_paise__gte=100), name="mandate_amount_at_least_one_rupee"),
            models.CheckConstraint(
                condition=Q(max_amount_paise__gte=models.F("amount_paise")), name="mandate_max_covers_amount"
            ),
            models.CheckConstraint(condition=Q(state__in=[s.value for s in MandateState]), name="mandate_state_known"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_subscription_id} ({self.state})"

    @property
    def will_renew(self) -> bool:
        return self.state == M.ACTIVE and self.cancel_requested_at is None


class RenewalState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    NOTIFIED = "notified", "Pre-debit notification sent"
    DEBITING = "debiting", "Debit requested"
    SUCCEEDED = "succeeded", "Charged"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned (mandate ended or Autopay turned off)"


R = RenewalState
OPEN_RENEWAL_STATES = (R.SCHEDULED, R.NOTIFIED, R.DEBITING)
RENEWAL_TRANSITIONS: dict[str, set[str]] = {
    R.SCHEDULED: {R.NOTIFIED, R.FAILED, R.ABANDONED},
    R.NOTIFIED: {R.DEBITING, R.SUCCEEDED, R.FAILED, R.ABANDONED},
    R.DEBITING: {R.SUCCEEDED, R.FAILED},
    R.SUCCEEDED: set(),
    R.FAILED: set(),
    R.ABANDONED: set(),
}
# Keep in step with the trigger in migrations/0002_mandate_forward_only.py.
RENEWAL_MACHINE = StateMachine("renewal", RENEWAL_TRANSITIONS, field="state")


class Renewal(models.Model):
    """One attempt to charge period `cycle` of a mandate (cycle 1 is the first after the setup charge)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="renewals")
    cycle = models.PositiveIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    merchant_order_id = models.CharField(max_length=63, unique=True)
    gateway_order_id = models.CharField(max_length=100, blank=True, default="")
    amount_paise = models.PositiveIntegerField()
    period_start = models.DateTimeField(help_text="The paid end this charge extends.")
    state = models.CharField(max_length=12, choices=RenewalState.choices, default=R.SCHEDULED)
    gateway_state = models.CharField(max_length=30, blank=True, default="")
    notified_at = models.DateTimeField(null=True, blank=True)
    debit_after = models.DateTimeField(null=True, blank=True, help_text="24 h after the notification.")
    debited_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    payment = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["mandate", "cycle", "attempt"], name="renewal_attempt_unique"),
            models.UniqueConstraint(
                fields=["mandate", "cycle"], condition=Q(state="succeeded"), name="one_charge_per_period"
            ),
            models.UniqueConstraint(
                fields=["mandate"],
                condition=Q(state__in=["scheduled", "notified", "debiting"]),
                name="one_open_renewal_per_mandate",
            ),
            models.CheckConstraint(condition=Q(amount_paise__gte=100), name="renewal_amount_at_least_one_rupee"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_order_id} cycle {self.cycle} ({self.state})"
