"""Background jobs of subscriptions (docs/jobs.md)."""

from django.utils import timezone

from manas360.jobs import periodic_database_job
from subscriptions.services import parked_time_refund, subscriptions_expire


@periodic_database_job("subscriptions.expire_subscriptions", "*/5 * * * *", queue="default")
def expire_subscriptions(timestamp: int) -> int:
    """Active rows past their end date become `expired` (a cancel-at-period-end ends here, not renewed).

    The same service as `manage.py expire_subscriptions`; batches with SKIP LOCKED, so it is
    safe next to a grant in progress and safe to run again.
    """
    return subscriptions_expire(now=timezone.now())


@periodic_database_job("subscriptions.refund_parked_time", "* * * * *", queue="payments")
def refund_parked_time(timestamp: int) -> int:
    """Payments whose time waits behind a lifetime grant are refunded in full (docs/payments.md, rule 6).

    Normally decided in the transaction that granted the lifetime plan; this catches a payment whose row was
    busy at that moment. Each refund is sent after its transaction commits (a failure is left to
    `payments.retry_unfinished_refunds`), so a re-run decides nothing twice.
    """
    return parked_time_refund()
