from datetime import datetime
from typing import Any

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict

from manas360.money import rupees
from subscriptions import selectors
from subscriptions.models import Plan, Subscription


class PlanSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="code")
    amount = serializers.SerializerMethodField(help_text="Rupees (display only; amountPaise is authoritative).")

    class Meta:
        model = Plan
        fields = [
            "id",
            "uuid",
            "name",
            "display_name",
            "description",
            "amount_paise",
            "amount",
            "currency",
            "period",
            "duration_days",
            "type",
            "features",
            "is_active",
            "is_featured",
        ]

    def get_amount(self, plan) -> float:
        return rupees(plan.amount_paise)


class SubscriptionSerializer(serializers.ModelSerializer):
    plan_id = serializers.CharField(source="plan.code")
    plan_name = serializers.CharField(source="plan.name")
    status = serializers.SerializerMethodField()
    features = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan_id",
            "plan_name",
            "status",
            "start_date",
            "end_date",
            "auto_renew",
            "cancelled_at",
            "cancel_reason",
            "features",
        ]

    def get_status(self, subscription) -> str:
        # The caller's `now` (docs/contributing.md, "Time is an input"): a row past its end reads `expired`.
        return subscription.status_at(self.context["now"])

    def get_features(self, subscription) -> list[str]:
        return list(subscription.plan.features or [])


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=500)
    immediate = serializers.BooleanField(required=False, default=False)


class UpgradeSerializer(serializers.Serializer):
    plan_id = serializers.CharField(max_length=100)


def profile_subscription(*, user: Any, now: datetime) -> ReturnDict | None:
    """The `subscription` section of the profile (`/users/me`): the active subscription as
    `/subscriptions/current` shows it, or null. Registered with accounts in SubscriptionsConfig.ready()."""
    subscription = selectors.subscription_summary(user=user, now=now)
    return SubscriptionSerializer(subscription, context={"now": now}).data if subscription is not None else None
