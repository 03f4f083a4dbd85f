"""Autopay's gauge on /metrics (registered in `AutopayConfig.ready()`), read at scrape time:
`renewals_past_deadline{state}`, open renewals that should have moved on by now
(`autopay.selectors.renewals_past_deadline`; alert when above 0)."""

from collections.abc import Iterator

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from autopay.models import RenewalState
from autopay.selectors import renewals_past_deadline


def collect() -> Iterator[GaugeMetricFamily]:
    late = GaugeMetricFamily(
        "renewals_past_deadline", "Open renewals that should have moved on by now, by state.", labels=["state"]
    )
    rows = (
        renewals_past_deadline(now=timezone.now())
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    counts = dict(rows)
    for state in (RenewalState.SCHEDULED, RenewalState.NOTIFIED, RenewalState.DEBITING):
        late.add_metric([state.value], counts.get(state.value, 0))
    yield late
