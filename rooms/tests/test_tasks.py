"""`rooms.close_abandoned_sessions` run through the job engine."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from rooms.models import RoomSessionStatus
from rooms.tasks import close_abandoned_sessions
from rooms.tests.factories import RoomSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_job_closes_abandoned_sessions_only_once(job_engine):
    abandoned = RoomSessionFactory(started_at=timezone.now() - timedelta(days=1))
    running = RoomSessionFactory()
    close_abandoned_sessions.defer(timestamp=int(timezone.now().timestamp()))
    job_engine.run()

    assert job_engine.statuses("rooms.close_abandoned_sessions") == ["succeeded"]
    abandoned.refresh_from_db()
    running.refresh_from_db()
    assert abandoned.status == RoomSessionStatus.ABANDONED
    assert abandoned.points == 0
    ended_at = abandoned.ended_at
    assert ended_at is not None
    assert running.status == RoomSessionStatus.IN_PROGRESS

    close_abandoned_sessions.defer(timestamp=int(timezone.now().timestamp()) + 1)
    job_engine.run()
    abandoned.refresh_from_db()
    assert abandoned.ended_at == ended_at  # a second run changes nothing


def test_command_uses_the_same_service(job_engine):
    abandoned = RoomSessionFactory(started_at=timezone.now() - timedelta(days=1))
    out = io.StringIO()
    call_command("close_abandoned_sessions", stdout=out)
    assert "Closed 1" in out.getvalue()
    abandoned.refresh_from_db()
    assert abandoned.status == RoomSessionStatus.ABANDONED
