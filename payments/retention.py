"""Retention of payment data (docs/jobs.md "Retention")."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from payments.models import ReconciliationAudit, ReconciliationFinding, WebhookEvent
from payments.services import webhook_unfinished


def webhook_payloads_purge(*, now: datetime, batch_size: int = 1000) -> int:
    """Drop the stored body of callbacks older than RETENTION_WEBHOOK_PAYLOAD_DAYS.

    The row stays (its key still de-duplicates replays; event, ids, state, amount and
    outcome stay for accounting); only `payload` is emptied, and only once the outcome is final.
    """
    cutoff = now - timedelta(days=settings.RETENTION_WEBHOOK_PAYLOAD_DAYS)
    stale = WebhookEvent.objects.filter(received_at__lt=cutoff).exclude(webhook_unfinished()).exclude(payload={})
    purged = 0
    while True:
        ids = list(stale.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return purged
        purged += WebhookEvent.objects.filter(pk__in=ids).update(payload={})


def reconciliation_audits_purge(*, now: datetime, batch_size: int = 1000) -> int:
    """Delete audit runs older than RETENTION_RECONCILIATION_AUDIT_DAYS that found nothing (an hourly job makes
    one a run); runs with findings stay with them, for the history of what was repaired or raised."""
    cutoff = now - timedelta(days=settings.RETENTION_RECONCILIATION_AUDIT_DAYS)
    stale = ReconciliationAudit.objects.filter(started_at__lt=cutoff).filter(
        ~Exists(ReconciliationFinding.objects.filter(audit=OuterRef("pk")))
    )
    deleted = 0
    while True:
        ids = list(stale.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += ReconciliationAudit.objects.filter(pk__in=ids).delete()[0]
