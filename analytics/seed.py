"""Analytics seed: no reference data; `seed --demo` adds 90 days of demo activity (analytics/demo_activity.py)."""

from django.core.management.base import OutputWrapper
from django.utils import timezone

from analytics.demo_activity import DAYS, DEMO_EMAIL_DOMAIN, demo_activity_create


def run(*, stdout: OutputWrapper, demo_accounts: bool) -> None:
    """Nothing to seed by default: the plain seed stays minimal."""


def run_demo(*, stdout: OutputWrapper) -> None:
    summary = demo_activity_create(now=timezone.now())
    if summary is None:
        stdout.write(f"demo activity: already present (patients @{DEMO_EMAIL_DOMAIN}); nothing added.")
        return
    stdout.write(
        f"demo activity over the last {DAYS} days: {summary.patients} patients, {summary.sessions} room sessions "
        f"({summary.completed_sessions} completed), {summary.assessments} assessments, "
        f"{summary.successful_payments} successful payments, {summary.failed_payments} failed, "
        f"{summary.refunds} refunded."
    )
