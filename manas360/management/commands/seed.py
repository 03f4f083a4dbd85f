"""`manage.py seed [--demo]`: idempotent reference data, and in development the demo accounts.

Each app contributes a `seed` module with a `run(*, stdout, demo_accounts: bool)` function; running the
command twice changes nothing. `--demo` (development only) adds 90 days of activity on top
(manas360/demo_activity.py) so the analytics screens and exports have something to show.
"""

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

SEED_MODULES = ["accounts.seed", "subscriptions.seed", "rooms.seed", "payments.seed", "analytics.seed"]


class Command(BaseCommand):
    help = "Load reference data (plans, themes, roles) and, when DEBUG is on, the demo accounts. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Development only: also create 90 days of demo patients, sessions, assessments and payments.",
        )

    def handle(self, *args, **options):
        if options["demo"] and not settings.DEBUG:
            raise CommandError("--demo writes made-up patients and payments: development only (DEBUG=1).")
        demo_accounts = settings.DEBUG
        for module_path in SEED_MODULES:
            try:
                module = import_module(module_path)
            except ModuleNotFoundError as exc:
                if exc.name != module_path:
                    raise
                continue
            with transaction.atomic():
                module.run(stdout=self.stdout, demo_accounts=demo_accounts)
        if options["demo"]:
            self._demo_activity()
        self.stdout.write(self.style.SUCCESS("Seed complete."))

    def _demo_activity(self) -> None:
        from manas360.demo_activity import DAYS, DEMO_EMAIL_DOMAIN, demo_activity_create

        summary = demo_activity_create()
        if summary is None:
            self.stdout.write(f"demo activity: already present (patients @{DEMO_EMAIL_DOMAIN}); nothing added.")
            return
        self.stdout.write(
            f"demo activity over the last {DAYS} days: {summary.patients} patients, {summary.sessions} room sessions "
            f"({summary.completed_sessions} completed), {summary.assessments} assessments, "
            f"{summary.successful_payments} successful payments, {summary.failed_payments} failed, "
            f"{summary.refunds} refunded."
        )
