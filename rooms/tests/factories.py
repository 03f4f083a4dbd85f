from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier
from subscriptions.models import Plan, PlanPeriod, Subscription, SubscriptionStatus

# The plans the subscriptions app seeds (their features are what rooms gate on).
PLAN_FEATURES = {
    "premium_monthly": ["premium_themed_rooms", "therapy_sessions", "ai_companion", "sound_tracks", "basic_content"],
    "ar_premier": ["ar_premier_rooms", "basic_content"],
    "ar_plus": ["ar_plus_rooms", "ar_premier_rooms", "basic_content"],
    "healer_free": ["basic_content"],
}


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"theme-{n}")
    title = factory.Sequence(lambda n: f"Theme {n}")
    description = "A calm place."
    category = "nature"
    tier = ThemeTier.FREE
    icon = "🌿"
    thumbnail_url = "https://commons.wikimedia.org/wiki/Special:FilePath/Forest.jpg?width=640"
    videos = factory.LazyAttribute(
        lambda o: [{"title": "Video", "url": f"https://media.example.org/{o.slug}.webm", "durationSeconds": 600}]
    )
    audio_tracks = factory.LazyAttribute(
        lambda o: [{"title": "Audio", "url": f"https://media.example.org/{o.slug}.ogg", "durationSeconds": 600}]
    )
    benefits = factory.LazyFunction(lambda: ["Calm"])
    instructions = "Breathe."
    duration_seconds = 600
    display_order = factory.Sequence(lambda n: n)


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
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = SubscriptionStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))


class RoomSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomSession

    user = factory.SubFactory(UserFactory)
    theme = factory.SubFactory(ThemeFactory)
    status = RoomSessionStatus.IN_PROGRESS
    started_at = factory.LazyFunction(timezone.now)


def subscribe(user, plan_code: str, **kwargs) -> Subscription:
    return SubscriptionFactory(user=user, plan=PlanFactory(code=plan_code), **kwargs)
