from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from manas360.money import rupees
from payments.fulfilment import payment_label, payments_label, product_for
from payments.models import Payment, PaymentStatus, Refund


class ProductLabelledListSerializer(serializers.ListSerializer):
    """Labels a page of payments with one lookup per product before serializing it, not one a row."""

    def to_representation(self, data):
        payments = list(data.all() if hasattr(data, "all") else data)
        payments_label(payments)
        return super().to_representation(payments)


@extend_schema_field(OpenApiTypes.STR)
class ProductLabelField(serializers.Field):
    """`planId` (`part="id"`) or `planName` (`part="name"`, null when the product no longer knows the reference):
    what was bought, as its product names it (payments/fulfilment.py `labels`)."""

    def __init__(self, *, part: str, **kwargs):
        self.part = part
        super().__init__(source="*", read_only=True, allow_null=part == "name", **kwargs)

    def to_representation(self, value):
        return getattr(payment_label(value), self.part)


class PaymentSerializer(serializers.ModelSerializer):
    """A payment as every payments endpoint shows it (docs/api.md §5, §11)."""

    transaction_id = serializers.CharField(source="merchant_order_id")
    merchant_transaction_id = serializers.CharField(source="merchant_order_id")
    order_id = serializers.SerializerMethodField()
    plan_id = ProductLabelField(part="id")
    plan_name = ProductLabelField(part="name")
    amount = serializers.SerializerMethodField(help_text="Rupees (display only; amountPaise is authoritative).")
    expires_in = serializers.SerializerMethodField(help_text="Seconds until the checkout expires (0 when settled).")
    payment_gateway = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField(help_text="The subscription this payment paid for, if any.")
    refund_reason = serializers.SerializerMethodField(
        help_text="Why this payment was refunded automatically (it bought nothing new); null otherwise."
    )

    class Meta:
        model = Payment
        list_serializer_class = ProductLabelledListSerializer
        fields = [
            "id",
            "transaction_id",
            "merchant_transaction_id",
            "order_id",
            "status",
            "plan_id",
            "plan_name",
            "amount_paise",
            "amount",
            "currency",
            "redirect_url",
            "expires_in",
            "payment_gateway",
            "failure_reason",
            "created_at",
            "completed_at",
            "refunded_at",
            "subscription",
            "product",
            "refund_reason",
        ]

    def get_order_id(self, payment) -> str | None:
        return payment.gateway_order_id or None

    def get_amount(self, payment) -> float:
        return rupees(payment.amount_paise)

    def get_expires_in(self, payment) -> int:
        if payment.status != PaymentStatus.PENDING or payment.expires_at is None:
            return 0
        return max(int((payment.expires_at - self.context["now"]).total_seconds()), 0)

    def get_payment_gateway(self, payment) -> str:
        return "PhonePe"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_subscription(self, payment) -> dict | None:
        # The product that was bought describes it (payments/fulfilment.py); payments does not know plans.
        return product_for(payment.product).describe(payment=payment, now=self.context["now"]).get("subscription")

    def get_refund_reason(self, payment) -> str | None:
        return payment.refund_reason or None


class WebhookAckSerializer(serializers.Serializer):
    """What PhonePe gets back: the stored event and what was done with it."""

    event_id = serializers.UUIDField(allow_null=True)
    outcome = serializers.CharField()


class PaymentCreateSerializer(serializers.Serializer):
    plan_id = serializers.CharField(max_length=100)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, help_text="Rupees; must equal the plan price."
    )
    currency = serializers.CharField(max_length=3, required=False, allow_null=True, allow_blank=True)


class RefundRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "merchant_refund_id", "gateway_refund_id", "amount_paise", "status", "reason", "created_at"]
