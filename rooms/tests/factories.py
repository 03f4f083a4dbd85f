from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from rooms.models import RoomSession, RoomSessionStatus, Theme, ThemeTier


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


class RoomSessionFactory(factory.django.DjangoModelFactory):
    """A session in progress; the `completed` trait ends it `duration_seconds` after it started."""

    class Meta:
        model = RoomSession

    class Params:
        completed = factory.Trait(
            status=RoomSessionStatus.COMPLETED,
            ended_at=factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.duration_seconds or 0)),
        )

    user = factory.SubFactory(UserFactory)
    theme = factory.SubFactory(ThemeFactory)
    status = RoomSessionStatus.IN_PROGRESS
    started_at = factory.LazyFunction(timezone.now)
