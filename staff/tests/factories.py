from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from rooms.tests.factories import RoomSessionFactory


class TherapistFactory(UserFactory):
    therapist = True


class CompletedRoomSessionFactory(RoomSessionFactory):
    """A ten-minute session that ended an hour ago."""

    completed = True
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    duration_seconds = 600
