"""`manage.py autopay_advance_clock --days 30`: watch Autopay renewals happen without waiting a month.

Development and demos only, against the PhonePe simulator. Two clocks decide a renewal: PhonePe's (a debit
waits 24 h after its notice) and ours (the notice goes out `AUTOPAY_NOTIFY_BEFORE_HOURS` before the paid end).
The command moves both together, in steps (`--step-hours`, default 1), the way the real sweep would meet them:

* PhonePe's: through the simulator's clock control (`POST /simulator/clock`), which also runs what falls due
  on its side (auto-debits, lapsed notices, expired mandates);
* ours: the simulator's new time is handed as `now` to the renewal step itself (`renewals.mandates_due` and
  `renewals.renewal_advance`, what the `autopay.renewals_due` / `autopay.advance_mandate` jobs run), for each
  mandate with something due.

The simulator's clock offset is the one record of how far time has moved, so a second run carries on where
the first stopped (restart the simulator to go back to the real time). The jobs of a running worker keep
the real time meanwhile; the steps are idempotent, so both can run. Refused against the real PhonePe.
"""

from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from autopay import renewals
from autopay.models import Mandate
from payments.api import PhonePeError

# Outcomes that repeat at every step while nothing moves: printed once, when they first appear.
QUIET = {"not_due", "notified", "waiting_to_retry", "mandate_paused"}


class SimulatorClock:
    """The simulator's movable clock, reached under the same base URL as its gateway endpoints."""

    def __init__(self, base_url: str):
        self.url = base_url.rstrip("/") + "/simulator/clock"

    def _call(self, method: str, body: dict | None = None) -> dict:
        try:
            response = requests.request(method, self.url, json=body, timeout=30)
        except requests.RequestException as exc:
            raise CommandError(f"The PhonePe simulator does not answer at {self.url} ({type(exc).__name__}).") from exc
        if response.status_code != 200:
            raise CommandError(
                f"{self.url} answered {response.status_code}: only the PhonePe simulator has a clock to move."
            )
        return response.json()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._call("GET")["nowMs"] / 1000, UTC)

    def advance(self, seconds: int) -> datetime:
        return datetime.fromtimestamp(self._call("POST", {"advanceSeconds": seconds})["nowMs"] / 1000, UTC)


class Command(BaseCommand):
    help = (
        "Development only: move the PhonePe simulator's clock and ours forward together and run the Autopay "
        "renewal steps that fall due on the way (notice, debit, new paid period)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=0, help="how far to move both clocks, in days")
        parser.add_argument("--hours", type=float, default=0, help="added to --days")
        parser.add_argument(
            "--step-hours",
            type=float,
            default=1,
            help="the renewal steps run after each step of this size (the real sweep runs every 10 minutes)",
        )

    def handle(self, *args, **options):
        if settings.PHONEPE_ENV == "PRODUCTION":
            raise CommandError("PHONEPE_ENV is PRODUCTION: PhonePe's clock cannot be moved, and ours must not be.")
        total = int((options["days"] * 24 + options["hours"]) * 3600)
        step = int(options["step_hours"] * 3600)
        if total <= 0 or step <= 0:
            raise CommandError("Give a positive --days and/or --hours, and a positive --step-hours.")
        clock = SimulatorClock(settings.PHONEPE_PG_BASE_URL)
        started = clock.now()
        self.stdout.write(f"clock at {started:%Y-%m-%d %H:%M} UTC; moving it {timedelta(seconds=total)} forward")
        last: dict[str, str] = {}
        moved = 0
        while moved < total:
            seconds = min(step, total - moved)
            now = clock.advance(seconds)
            moved += seconds
            for mandate_id in renewals.mandates_due(now=now):
                key = str(mandate_id)
                try:
                    outcome = renewals.renewal_advance(mandate_id=mandate_id, now=now)
                except PhonePeError as exc:
                    raise CommandError(f"mandate {key}: PhonePe call failed at {now:%Y-%m-%d %H:%M}: {exc}") from exc
                if outcome in QUIET and last.get(key) == outcome:
                    continue
                last[key] = outcome
                self.stdout.write(f"{now:%Y-%m-%d %H:%M} UTC  mandate {key}: {self._describe(mandate_id, outcome)}")
        self.stdout.write(f"clock now at {clock.now():%Y-%m-%d %H:%M} UTC ({len(last)} mandate(s) had steps due)")

    @staticmethod
    def _describe(mandate_id, outcome: str) -> str:
        mandate = Mandate.objects.select_related("subscription").get(pk=mandate_id)
        renewal = mandate.renewals.order_by("-cycle", "-attempt").first()
        if renewal is not None and outcome == "notified" and renewal.debit_after is not None:
            allowed = f"{renewal.debit_after:%Y-%m-%d %H:%M}"
            return f"pre-debit notice sent (cycle {renewal.cycle}); debit allowed from {allowed}"
        if renewal is not None and outcome == "succeeded" and mandate.subscription is not None:
            paid_until = f"{mandate.subscription.end_date:%Y-%m-%d %H:%M}"
            return f"debited {mandate.amount_paise} paise (cycle {renewal.cycle}); paid until {paid_until}"
        if renewal is not None and outcome == "failed":
            return f"debit failed (cycle {renewal.cycle}, attempt {renewal.attempt}): {renewal.failure_reason}"
        return outcome.replace("_", " ")
