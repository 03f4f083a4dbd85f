"""Payments' gauges on /metrics (registered with `manas360.metrics` in `PaymentsConfig.ready()`), read from the
database at scrape time so every web instance reports the whole cluster:

* `payments_pending_past_expiry`: payments still pending well after their order expired (the reconciliation
  job is not running or cannot finish; alert when above 0);
* the latest reconciliation audit with PhonePe (`payments.audit`): `reconciliation_audit_checked{kind}`,
  `reconciliation_audit_disagreements{kind}`, `reconciliation_audit_repaired{kind}`,
  `reconciliation_audit_raised{kind}`, `reconciliation_audit_unavailable{kind}` (rows PhonePe could not answer
  for), `reconciliation_audit_last_finished_timestamp_seconds`, `reconciliation_audit_complete` (0 when the
  latest run stopped early), and `reconciliation_findings_open` (disagreements raised for staff, not resolved
  and not acknowledged by staff yet).
"""

from collections.abc import Iterator

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from payments.audit import AUDIT_COUNTS, audit_latest, findings_waiting_for_staff
from payments.selectors import payments_pending_past_expiry


def collect() -> Iterator[GaugeMetricFamily]:
    overdue = GaugeMetricFamily(
        "payments_pending_past_expiry", "Payments still pending well after their order expired at PhonePe."
    )
    overdue.add_metric([], payments_pending_past_expiry(now=timezone.now()).count())
    yield overdue
    open_findings = GaugeMetricFamily(
        "reconciliation_findings_open",
        "Disagreements with PhonePe raised for staff, not resolved and not taken in hand by staff yet.",
    )
    open_findings.add_metric([], findings_waiting_for_staff().count())
    yield open_findings
    run = audit_latest()
    if run is None:
        return
    for count in AUDIT_COUNTS:
        family = GaugeMetricFamily(
            f"reconciliation_audit_{count}", f"Latest reconciliation audit with PhonePe: rows {count}.", labels=["kind"]
        )
        for kind, counts in sorted(run.counts.items()):
            family.add_metric([kind], counts.get(count, 0))
        yield family
    finished = GaugeMetricFamily(
        "reconciliation_audit_last_finished_timestamp_seconds", "When the latest reconciliation audit finished."
    )
    finished.add_metric([], run.finished_at.timestamp() if run.finished_at else 0)
    yield finished
    complete = GaugeMetricFamily(
        "reconciliation_audit_complete", "1 if the latest reconciliation audit checked every row it meant to."
    )
    complete.add_metric([], 1 if run.complete else 0)
    yield complete
