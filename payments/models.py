import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from manas360.state_machine import StateMachine


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


# A late success after a failure is honoured: PhonePe's order status says the user paid (docs/payments.md).
PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCESS, PaymentStatus.FAILED},
    PaymentStatus.FAILED: {PaymentStatus.SUCCESS},
    PaymentStatus.SUCCESS: {PaymentStatus.REFUNDED},
    PaymentStatus.REFUNDED: set(),
}
PAYMENT_MACHINE = StateMachine("payment", PAYMENT_TRANSITIONS)


class Payment(models.Model):
    """One purchase attempt through PhonePe. Amounts are integer paise.

    `merchant_order_id` is our id sent to PhonePe (`transactionId` = `merchantTransactionId` in the API);
    `gateway_order_id` is PhonePe's `orderId`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Nullable so a deleted account's payments stay for accounting with the user reference anonymised.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    # What was bought: a product registered in `payments.fulfilment` and that product's own reference (a
    # plan's code). No foreign key into the product's tables: the product names its references (`labels`).
    product = models.CharField(max_length=40)
    product_ref = models.CharField(max_length=100)
    merchant_order_id = models.CharField(max_length=63, unique=True)
    gateway_order_id = models.CharField(max_length=100, blank=True, default="", db_index=True)
    amount_paise = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="INR")
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, db_index=True
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    redirect_url = models.URLField(max_length=1000, blank=True, default="")
    gateway_state = models.CharField(max_length=30, blank=True, default="")
    payment_mode = models.CharField(max_length=30, blank=True, default="")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    # Why a successful payment was refunded automatically (it bought nothing the user did not already hold).
    refund_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When PhonePe expires the order.")
    last_reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_key_per_user",
            ),
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=~Q(product="") & ~Q(product_ref=""), name="payment_product_set"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_order_id} ({self.status})"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed by the gateway"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """A refund of a successful payment through PhonePe (`POST /payments/v2/refund`).

    The row is written in the transaction that decides the refund: it is the outbox. `sent_at` is empty
    until PhonePe has accepted the request; `services.refunds.refund_send` (re)sends it with the same
    `merchant_refund_id` and is safe to call any number of times.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    merchant_refund_id = models.CharField(max_length=63, unique=True)
    gateway_refund_id = models.CharField(max_length=100, blank=True, default="")
    amount_paise = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    automatic = models.BooleanField(default=False, help_text="Decided by the rules, not by an operator.")
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="refund_amount_positive"),
            # At most one refund in flight or done per payment (full refunds only).
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(status__in=["pending", "confirmed", "completed"]),
                name="one_open_refund_per_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_refund_id} ({self.status})"


class WebhookOutcome(models.TextChoices):
    RECEIVED = "received", "Received, processing"
    APPLIED = "applied", "Applied"
    ALREADY_APPLIED = "already_applied", "Already applied"
    GATEWAY_PENDING = "gateway_pending", "Gateway still reports pending"
    IGNORED_LATE_FAILURE = "ignored_late_failure", "Failure after success, ignored"
    REJECTED_AMOUNT_MISMATCH = "rejected_amount_mismatch", "Rejected: amount does not match"
    REJECTED_ORDER_MISMATCH = "rejected_order_mismatch", "Rejected: order does not match"
    UNKNOWN_ORDER = "unknown_order", "Unknown order"
    IGNORED = "ignored", "Event type not handled"
    STATUS_UNAVAILABLE = "status_unavailable", "Gateway status check failed (retryable)"


class WebhookEvent(models.Model):
    """One verified PhonePe callback, stored once (docs/api.md §5, docs/phonepe.md §11.2).

    `event_key` = event + order/refund id + state: a replay of the same event maps to
    the same row and does nothing. Only non-sensitive payload fields are kept.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_key = models.CharField(max_length=255, unique=True)
    event = models.CharField(max_length=100, blank=True, default="")
    merchant_order_id = models.CharField(max_length=63, blank=True, default="", db_index=True)
    merchant_refund_id = models.CharField(max_length=63, blank=True, default="")
    state = models.CharField(max_length=30, blank=True, default="")
    amount_paise = models.BigIntegerField(null=True, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    payload = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=30, choices=WebhookOutcome.choices, default=WebhookOutcome.RECEIVED)
    detail = models.CharField(max_length=500, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.merchant_order_id or self.merchant_refund_id} ({self.outcome})"


class ReconciliationAudit(models.Model):
    """One run of the audit with PhonePe (`payments.audit`): every order, redemption and refund we created in
    [since, until) compared with PhonePe's word. `counts` per kind of row: checked, disagreements, repaired,
    raised, unavailable (PhonePe could not answer for it). `complete` is false while it runs, and for a run
    that stopped early (PhonePe unreachable) or died."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(help_text="Rows created from this time...")
    until = models.DateTimeField(help_text="...to this one (younger rows are left to the normal paths).")
    complete = models.BooleanField(default=False, help_text="Every row in the window was checked.")
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"audit {self.started_at:%Y-%m-%d %H:%M}"

    def total(self, count: str) -> int:
        return sum(int(per_kind.get(count, 0)) for per_kind in self.counts.values())


class FindingKind(models.TextChoices):
    ORDER = "order", "Order (payment)"
    REFUND = "refund", "Refund"
    REDEMPTION = "redemption", "Redemption (Autopay renewal)"


class FindingOutcome(models.TextChoices):
    REPAIRED = "repaired", "Repaired through the normal path"
    RAISED = "raised", "Raised for staff"


class ReconciliationFinding(models.Model):
    """A disagreement between PhonePe and us found by the audit, by our id of the row (`reference`).

    Repaired ones are history (resolved at once). A raised one stays open, one per row, seen again by every
    run until a run finds both sides agree (then `resolved_at` is set) or staff act on it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    audit = models.ForeignKey(
        ReconciliationAudit, on_delete=models.PROTECT, related_name="findings", help_text="The run that last saw it."
    )
    kind = models.CharField(max_length=12, choices=FindingKind.choices)
    reference = models.CharField(max_length=63, help_text="Our merchant order or refund id.")
    ours = models.CharField(max_length=30, help_text="Our state when found.")
    theirs = models.CharField(max_length=30, help_text="PhonePe's state when found.")
    outcome = models.CharField(max_length=10, choices=FindingOutcome.choices)
    detail = models.CharField(max_length=500, blank=True, default="")
    first_seen_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Staff took it in hand (refunded by hand, wrote to the user...): still open while the two sides disagree,
    # but no longer counted as waiting for staff. Cleared if a later run finds the row in another state.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"], condition=Q(resolved_at__isnull=True), name="one_open_finding_per_row"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="repaired") | Q(resolved_at__isnull=False), name="repaired_finding_resolved"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}: ours {self.ours}, PhonePe {self.theirs} ({self.outcome})"
