from datetime import timedelta

import factory
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from subscriptions.entitlements import entitlement_grant
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
    """A subscription row written directly (no entitlement rules): active, started yesterday, 29 days left.

    `SubscriptionFactory(user=user, plan__code="ar_plus")` picks the plan by code (created on first use). Traits:
    `lapsed` (an active row whose end date has passed), `lifetime` (no end date), `cancelled`, `expired`.
    """

    class Meta:
        model = Subscription

    class Params:
        lapsed = factory.Trait(
            start_date=factory.LazyFunction(lambda: timezone.now() - timedelta(days=40)),
            end_date=factory.LazyFunction(lambda: timezone.now() - timedelta(days=10)),
        )
        lifetime = factory.Trait(end_date=None)
        cancelled = factory.Trait(status=SubscriptionStatus.CANCELLED)
        expired = factory.Trait(status=SubscriptionStatus.EXPIRED)

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = SubscriptionStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))


class GrantedSubscriptionFactory(factory.Factory):
    """One period of `plan` for `user` through the entitlement rules, as a successful payment gives it: the
    Subscription the rules derive (None when the grant was refused). `payment` and `now` are passed on."""

    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    payment = None
    now = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *, user, plan, payment, now):
        with transaction.atomic():
            return entitlement_grant(user=user, plan=plan, payment=payment, now=now).subscription
