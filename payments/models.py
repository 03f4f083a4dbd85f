import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


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
    # What was bought: a product registered in `payments.fulfilment` and that product's own reference.
    product = models.CharField(max_length=40)
    product_ref = models.CharField(max_length=100)
    # Denormalised for the API's planId/planName and staff reports when the product is a plan; payments'
    # logic never reads it (see payments/fulfilment.py).
    plan = models.ForeignKey(
        "subscriptions.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
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

    def __str__(self):
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

    def __str__(self):
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

    def __str__(self):
        return f"{self.event} {self.merchant_order_id or self.merchant_refund_id} ({self.outcome})"
