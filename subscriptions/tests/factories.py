from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from subscriptions.models import Plan, PlanPeriod, Subscription, SubscriptionStatus

# Features of the seeded plans that other apps gate on (subscriptions/seed.py has the full list).
PLAN_FEATURES = {
    "premium_monthly": ["premium_themed_rooms", "therapy_sessions", "ai_companion", "sound_tracks", "basic_content"],
    "ar_premier": ["ar_premier_rooms", "basic_content"],
    "ar_plus": ["ar_plus_rooms", "ar_premier_rooms", "basic_content"],
    "healer_free": ["basic_content"],
}


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "premium_monthly"
    name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    display_name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    amount_paise = 29900
    period = PlanPeriod.MONTH
    duration_days = 30
    features = factory.LazyAttribute(lambda o: list(PLAN_FEATURES.get(o.code, [])))


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active subscription that started yesterday and has 29 days left."""

    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = SubscriptionStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))


def subscribe(user, plan_code: str, **kwargs) -> Subscription:
    return SubscriptionFactory(user=user, plan=PlanFactory(code=plan_code), **kwargs)


def grant_plan(user, plan, *, payment=None, now=None) -> Subscription | None:
    """One period of `plan` for `user` through the entitlement rules (as a successful payment gives it)."""
    from django.db import transaction

    from subscriptions.entitlements import entitlement_grant

    with transaction.atomic():
        return entitlement_grant(user=user, plan=plan, payment=payment, now=now).subscription
