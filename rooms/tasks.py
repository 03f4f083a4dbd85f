"""Background jobs of themed rooms (docs/jobs.md)."""

from procrastinate.contrib.django import app

from manas360.jobs import DATABASE_RETRY, schedule
from rooms.services import room_sessions_close_abandoned


@app.periodic(cron=schedule("rooms.close_abandoned_sessions", "*/15 * * * *"))
@app.task(
    name="rooms.close_abandoned_sessions",
    queue="default",
    lock="rooms.close_abandoned_sessions",
    retry=DATABASE_RETRY,
)
def close_abandoned_sessions(timestamp: int) -> int:
    """In-progress sessions past the abandonment rule (docs/rooms.md) become `abandoned`, no points.

    The same service as `manage.py close_abandoned_sessions`.
    """
    return room_sessions_close_abandoned()
