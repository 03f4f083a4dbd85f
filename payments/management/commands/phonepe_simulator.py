"""`manage.py phonepe_simulator [--port N] [--public-url URL] [--callback-url URL]`: the local PhonePe
(docs/phonepe.md §12).

Defaults come from PHONEPE_SIMULATOR_URL, the variable the API also reads to find the simulator, so one
value in `.env` moves both. `--public-url` is the address browsers use for the checkout page: it differs from
the listening address behind a container's port mapping (`--host 0.0.0.0` is not an address a browser opens).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from manas360.devservers import serve_until_stopped
from payments.phonepe.simulator import start_simulator

WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 (recognised, not bound)


def _port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _public_url(*, option: str | None, host: str, port: int, port_given: bool) -> str:
    if option:
        parts = urlsplit(option)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--public-url must be an http(s) URL such as http://localhost:{port}.")
        return option.rstrip("/")
    if not port_given:
        return settings.PHONEPE_SIMULATOR_URL
    shown_host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return f"http://{shown_host}:{port}"


class Command(BaseCommand):
    help = "Run the local PhonePe Standard Checkout v2 simulator (its own process and port, loopback only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=None, help="Listening port (default: the port of PHONEPE_SIMULATOR_URL)."
        )
        parser.add_argument("--host", default="127.0.0.1", help="Loopback by default; never expose it.")
        parser.add_argument(
            "--public-url",
            default=None,
            help="Base URL of the checkout links browsers open (default: PHONEPE_SIMULATOR_URL, or "
            "http://127.0.0.1:<port> when --port is given).",
        )
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
        port_given = options["port"] is not None
        port = options["port"] if port_given else _port_of(settings.PHONEPE_SIMULATOR_URL)
        public_url = _public_url(option=options["public_url"], host=options["host"], port=port, port_given=port_given)
        refund_delay = options["refund_delay"] if options["refund_delay"] >= 0 else None
        server = start_simulator(
            port=port,
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
        # The checkout links PhonePe would host: what the browser can open (not the bind address).
        server.public_url = public_url
        self.stdout.write(f"PhonePe simulator listening on {options['host']}:{port}; checkout pages at {public_url}")
        self.stdout.write(f"Callbacks go to {options['callback_url']}. Ctrl-C to stop.")
        if public_url != settings.PHONEPE_SIMULATOR_URL:
            self.stdout.write(
                f"The API looks for the simulator at {settings.PHONEPE_SIMULATOR_URL}: start it with "
                f"PHONEPE_SIMULATOR_URL={public_url} (or put that line in .env)."
            )
        serve_until_stopped(server.stop)
