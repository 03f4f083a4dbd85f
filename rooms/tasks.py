"""Background jobs of themed rooms (docs/jobs.md)."""

from django.utils import timezone

from manas360.jobs import periodic_database_job
from rooms.services import room_sessions_close_abandoned


@periodic_database_job("rooms.close_abandoned_sessions", "*/15 * * * *", queue="default")
def close_abandoned_sessions(timestamp: int) -> int:
    """In-progress sessions past the abandonment rule (docs/rooms.md) become `abandoned`, no points.

    The same service as `manage.py close_abandoned_sessions`.
    """
    return room_sessions_close_abandoned(now=timezone.now())
