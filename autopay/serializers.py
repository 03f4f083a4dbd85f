from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from autopay import conf
from autopay.models import Mandate, MandateState
from autopay.selectors import renewal_open
from subscriptions.serializers import rupees


class AutopaySetupSerializer(serializers.Serializer):
    plan_id = serializers.CharField(max_length=100)


class MandateSerializer(serializers.ModelSerializer):
    """What the user sees of their mandate: state, what it charges and when it next does."""

    plan_id = serializers.CharField(source="plan.code")
    plan_name = serializers.CharField(source="plan.name")
    amount = serializers.SerializerMethodField(help_text="Rupees per period (display; amountPaise is exact).")
    currency = serializers.CharField(source="plan.currency")
    subscription_id = serializers.UUIDField(allow_null=True)
    auto_renew = serializers.BooleanField(source="will_renew")
    next_debit_at = serializers.SerializerMethodField()
    next_debit_amount_paise = serializers.SerializerMethodField()
    transaction_id = serializers.CharField(source="setup_payment.merchant_order_id")
    redirect_url = serializers.SerializerMethodField()

    class Meta:
        model = Mandate
        fields = [
            "id",
            "plan_id",
            "plan_name",
            "state",
            "auto_renew",
            "frequency",
            "amount_paise",
            "amount",
            "currency",
            "max_amount_paise",
            "next_debit_at",
            "next_debit_amount_paise",
            "subscription_id",
            "transaction_id",
            "redirect_url",
            "activated_at",
            "cancel_requested_at",
            "ended_at",
            "end_reason",
            "expires_at",
            "created_at",
        ]

    def get_amount(self, mandate) -> int | float:
        return rupees(mandate.amount_paise)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_debit_at(self, mandate):
        """When PhonePe will next be asked to debit: the open renewal's slot, else 24 h before the paid end."""
        if not mandate.will_renew:
            return None
        renewal = renewal_open(mandate=mandate)
        if renewal is not None and renewal.debit_after is not None:
            when = renewal.debit_after
        elif mandate.subscription is not None and mandate.subscription.end_date is not None:
            when = mandate.subscription.end_date - conf.notify_before() + conf.debit_gap()
        else:
            return None
        return serializers.DateTimeField().to_representation(when)

    def get_next_debit_amount_paise(self, mandate) -> int | None:
        return mandate.amount_paise if mandate.will_renew else None

    def get_redirect_url(self, mandate) -> str | None:
        """The checkout page, only while the user still has to approve the mandate."""
        return mandate.redirect_url or None if mandate.state == MandateState.ACTIVATION_IN_PROGRESS else None
