from datetime import timedelta

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from rooms.models import RoomSessionStatus
from rooms.tests.factories import RoomSessionFactory


class TherapistFactory(UserFactory):
    role = Role.THERAPIST
    is_verified = False
    first_name = "Kiran"
    last_name = "Therapist"


class CompletedRoomSessionFactory(RoomSessionFactory):
    """A ten-minute session that ended an hour ago."""

    status = RoomSessionStatus.COMPLETED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    duration_seconds = 600
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.duration_seconds or 0))
