from django.core.management.base import BaseCommand
from django.utils import timezone

from subscriptions.services import subscriptions_expire


class Command(BaseCommand):
    help = "Mark active subscriptions whose end date has passed as expired (run periodically, e.g. every 10 min)."

    def handle(self, *args, **options):
        count = subscriptions_expire(now=timezone.now())
        self.stdout.write(f"Expired {count} subscription(s).")
