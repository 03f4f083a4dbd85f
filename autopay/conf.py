"""Autopay's tunables, read from Django settings at call time (documented in docs/autopay.md)."""

from datetime import timedelta

from django.conf import settings


def notify_before() -> timedelta:
    """How long before the paid end the pre-debit notification goes out (the debit follows 24 h later)."""
    return timedelta(hours=settings.AUTOPAY_NOTIFY_BEFORE_HOURS)


def debit_gap() -> timedelta:
    """UPI's minimum gap between the pre-debit notification and the debit."""
    return timedelta(hours=24)


def retry_after() -> timedelta:
    return timedelta(hours=settings.AUTOPAY_RETRY_AFTER_HOURS)


def max_attempts() -> int:
    return max(int(settings.AUTOPAY_MAX_ATTEMPTS), 1)


def grace_period() -> timedelta:
    return timedelta(days=settings.AUTOPAY_GRACE_DAYS)


def mandate_validity() -> timedelta:
    return timedelta(days=settings.AUTOPAY_MANDATE_VALIDITY_DAYS)
