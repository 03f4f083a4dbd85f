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
    plan = models.ForeignKey("subscriptions.Plan", on_delete=models.PROTECT, related_name="payments")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_key_per_user",
            ),
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.merchant_order_id} ({self.status})"
