"""`manage.py phonepe_simulator --port 8081 [--callback-url ...]`: the local PhonePe (docs/phonepe.md §12)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from payments.phonepe.simulator import start_simulator


class Command(BaseCommand):
    help = "Run the local PhonePe Standard Checkout v2 simulator (its own process and port, loopback only)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8081)
        parser.add_argument("--host", default="127.0.0.1", help="Loopback by default; never expose it.")
        parser.add_argument(
            "--callback-url",
            default="http://127.0.0.1:5000/api/v1/payments/webhook",
            help="Where signed callbacks are POSTed (the merchant's webhook).",
        )
        parser.add_argument("--token-ttl", type=int, default=3600, help="Access token lifetime in seconds.")
        parser.add_argument(
            "--refund-delay",
            type=float,
            default=2.0,
            help="Seconds before a refund completes by itself (negative: only via the control endpoint).",
        )

    def handle(self, *args, **options):
        refund_delay = options["refund_delay"] if options["refund_delay"] >= 0 else None
        server = start_simulator(
            port=options["port"],
            host=options["host"],
            callback_url=options["callback_url"],
            client_id=settings.PHONEPE_CLIENT_ID,
            client_secret=settings.PHONEPE_CLIENT_SECRET,
            client_version=str(settings.PHONEPE_CLIENT_VERSION),
            webhook_username=settings.PHONEPE_WEBHOOK_USERNAME,
            webhook_password=settings.PHONEPE_WEBHOOK_PASSWORD,
            token_ttl_seconds=options["token_ttl"],
            refund_auto_complete_seconds=refund_delay,
        )
        self.stdout.write(f"PhonePe simulator on {server.url} (PG base {server.pg_base_url})")
        self.stdout.write(f"Callbacks go to {options['callback_url']}. Ctrl-C to stop.")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            while not stopped.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
