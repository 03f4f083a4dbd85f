"""Background jobs of Autopay (docs/autopay.md): renewals are driven here, never by a request.

`autopay.renewals_due` runs every 10 minutes and queues one `autopay.advance_mandate` job
per mandate with something to do. Each job carries `lock="mandate:<id>"`: two jobs about one
mandate never run at once, and the sweep does not queue another while one waits or runs
(`manas360.jobs.defer_once`, not procrastinate's `queueing_lock`, whose unique index would keep
a failed job from going back to the queue for its retry while a twin waits: docs/jobs.md).
The step itself (`renewals.renewal_advance`) is idempotent: a job killed at any line and run
again notifies at most once and debits at most once.
"""

from django.utils import timezone
from procrastinate.contrib.django import app

from autopay import renewals
from manas360.jobs import GATEWAY_RETRY, defer_once, schedule


@app.task(name="autopay.advance_mandate", queue="autopay", retry=GATEWAY_RETRY)
def advance_mandate(mandate_id: str) -> str:
    return renewals.renewal_advance(mandate_id=mandate_id, now=timezone.now())


def defer_advance(mandate_id: object) -> bool:
    """Queue `autopay.advance_mandate` for a mandate, unless one is already waiting or running for it."""
    return defer_once(advance_mandate, lock=f"mandate:{mandate_id}", mandate_id=str(mandate_id))


@app.periodic(cron=schedule("autopay.renewals_due", "*/10 * * * *"))
@app.task(name="autopay.renewals_due", queue="autopay", lock="autopay.renewals_due")
def renewals_due(timestamp: int) -> int:
    """Every 10 minutes: a job per mandate whose renewal has a step due (notify, debit, confirm, retry,
    lapse) or whose cancel PhonePe has not confirmed yet."""
    return sum(defer_advance(mandate_id) for mandate_id in renewals.mandates_due(now=timezone.now()))
