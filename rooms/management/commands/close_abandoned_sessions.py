"""Close themed-room sessions left open (docs/api.md §6). Run periodically (e.g. every 15 minutes)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rooms.services import (
    ABANDON_AFTER_AT_LEAST,
    ABANDON_AFTER_DURATION_MULTIPLIER,
    room_sessions_close_abandoned,
)


class Command(BaseCommand):
    help = (
        "Mark in-progress room sessions as abandoned (ended_at set, no points). By default a session is "
        f"abandoned after max({ABANDON_AFTER_AT_LEAST.total_seconds() / 3600:g} h, "
        f"{ABANDON_AFTER_DURATION_MULTIPLIER} x its planned length); --hours N uses a fixed age instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=None, help="Abandon sessions open longer than N hours.")

    def handle(self, *args, hours=None, **options):
        if hours is not None and hours <= 0:
            raise CommandError("--hours must be positive.")
        closed = room_sessions_close_abandoned(
            now=timezone.now(), older_than=timedelta(hours=hours) if hours is not None else None
        )
        self.stdout.write(f"Closed {closed} abandoned room session(s).")
