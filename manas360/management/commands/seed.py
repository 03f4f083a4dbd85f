"""`manage.py seed [--demo]`: idempotent reference data, and in development the demo accounts.

Each app contributes a `seed` module with a `run(*, stdout, demo_accounts: bool)` function; running the
command twice changes nothing. `--demo` (development only) also calls each seed module's `run_demo(*, stdout)`,
if it has one: 90 days of activity (analytics/demo_activity.py) so the analytics screens have something to show.
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
        modules = []
        for module_path in SEED_MODULES:
            try:
                modules.append(import_module(module_path))
            except ModuleNotFoundError as exc:
                if exc.name != module_path:
                    raise
        for module in modules:
            with transaction.atomic():
                module.run(stdout=self.stdout, demo_accounts=settings.DEBUG)
        if options["demo"]:
            # After every reference row exists (plans, themes): the demo activity uses them.
            for module in modules:
                if hasattr(module, "run_demo"):
                    with transaction.atomic():
                        module.run_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Seed complete."))
