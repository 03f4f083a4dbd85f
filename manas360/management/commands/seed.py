"""`manage.py seed`: idempotent demo and reference data.

Each app contributes a `seed` module with a `run(*, stdout, demo_accounts: bool)`
function; running the command twice changes nothing.
"""

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

SEED_MODULES = ["accounts.seed", "subscriptions.seed", "rooms.seed", "payments.seed", "analytics.seed"]


class Command(BaseCommand):
    help = "Load reference data (plans, themes, roles) and, when DEBUG is on, the demo accounts. Idempotent."

    def handle(self, *args, **options):
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
        self.stdout.write(self.style.SUCCESS("Seed complete."))
