"""Recurring revenue from real rows (docs/autopay.md "Operators"): Autopay renewals counted apart from first
purchases, monthly recurring revenue of the mandates that will renew, and mandate churn.

A payment is a renewal when an Autopay renewal recorded it (`Payment.renewal`); every other successful
payment, the charge that set a mandate up included, is a first purchase.
"""

from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from analytics.dates import DateRange
from analytics.selectors.base import paid_in
from autopay.models import ENDED_STATES, Mandate, MandateState

MONTHS_PER_PERIOD = {"MONTHLY": 1, "YEARLY": 12}


def renewal_split(date_range: DateRange) -> dict[str, Any]:
    return paid_in(date_range).aggregate(
        renewals=Count("id", filter=Q(renewal__isnull=False)),
        renewal_revenue=Coalesce(Sum("amount_paise", filter=Q(renewal__isnull=False)), 0),
        first_purchases=Count("id", filter=Q(renewal__isnull=True)),
    )


def monthly_recurring_revenue() -> int:
    """Paise per month the mandates that will renew bring (a yearly one counts a twelfth)."""
    renewing = Mandate.objects.filter(state=MandateState.ACTIVE, cancel_requested_at__isnull=True)
    total = 0
    for frequency, amount in renewing.values_list("frequency", "amount_paise"):
        total += amount // MONTHS_PER_PERIOD.get(frequency, 1)
    return total


def mandate_churn(date_range: DateRange) -> dict[str, Any]:
    """Mandates live at the start of the range, and how many of them ended (turned off, revoked, expired,
    lapsed) within it."""
    start, end = date_range.start_at, date_range.end_before
    live_at_start = Mandate.objects.filter(activated_at__lt=start).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=start)
    )
    churned = live_at_start.filter(state__in=ENDED_STATES, ended_at__lt=end).count()
    base = live_at_start.count()
    return {
        "mandates_at_start": base,
        "mandates_churned": churned,
        "mandate_churn_rate": round(100 * churned / base, 2) if base else 0.0,
    }


def recurring_summary(*, date_range: DateRange) -> dict[str, Any]:
    return {**renewal_split(date_range), "mrr": monthly_recurring_revenue(), **mandate_churn(date_range)}
