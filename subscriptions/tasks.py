"""Background jobs of subscriptions (docs/jobs.md)."""

from procrastinate.contrib.django import app

from manas360.jobs import DATABASE_RETRY, schedule
from subscriptions.services import subscriptions_expire


@app.periodic(cron=schedule("subscriptions.expire_subscriptions", "*/5 * * * *"))
@app.task(
    name="subscriptions.expire_subscriptions",
    queue="default",
    lock="subscriptions.expire_subscriptions",
    retry=DATABASE_RETRY,
)
def expire_subscriptions(timestamp: int) -> int:
    """Active rows past their end date become `expired` (a cancel-at-period-end ends here, not renewed).

    The same service as `manage.py expire_subscriptions`; batches with SKIP LOCKED, so it is
    safe next to a grant in progress and safe to run again.
    """
    return subscriptions_expire()
