"""Background jobs of subscriptions (docs/jobs.md)."""

from manas360.jobs import periodic_database_job
from subscriptions.services import subscriptions_expire


@periodic_database_job("subscriptions.expire_subscriptions", "*/5 * * * *", queue="default")
def expire_subscriptions(timestamp: int) -> int:
    """Active rows past their end date become `expired` (a cancel-at-period-end ends here, not renewed).

    The same service as `manage.py expire_subscriptions`; batches with SKIP LOCKED, so it is
    safe next to a grant in progress and safe to run again.
    """
    return subscriptions_expire()
