"""Reads of mandates and renewals."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from autopay.models import LIVE_STATES, Mandate, Renewal, RenewalState

# PhonePe retries a debit it could not take for up to 48 hours before it answers FAILED.
GATEWAY_DEBIT_WINDOW = timedelta(hours=48)


def mandate_get_current(*, user: User) -> Mandate | None:
    """The user's live mandate, else the most recent one, else None."""
    mandates = Mandate.objects.select_related("plan", "subscription", "setup_payment").filter(user=user)
    return mandates.filter(state__in=LIVE_STATES).order_by("-created_at").first() or mandates.first()


def renewal_open(*, mandate: Mandate) -> Renewal | None:
    return mandate.renewals.filter(state__in=["scheduled", "notified", "debiting"]).first()


def renewals_past_deadline(*, now: datetime | None = None) -> QuerySet[Renewal]:
    """Open renewals that should have moved on by now (JOBS_OVERDUE_AFTER_MINUTES after their step's deadline):

    * scheduled: the notification is sent by the job run that creates the renewal;
    * notified: the debit is requested once `debit_after` has come;
    * debiting: PhonePe answers COMPLETED or FAILED within its own 48 h of retries.

    One listed here means its mandate's job is not running or cannot finish (/metrics
    `renewals_past_deadline`, the admin's "past its deadline" filter).
    """
    now = now or timezone.now()
    late = now - timedelta(minutes=settings.JOBS_OVERDUE_AFTER_MINUTES)
    return Renewal.objects.filter(
        Q(state=RenewalState.SCHEDULED, created_at__lt=late)
        | Q(state=RenewalState.NOTIFIED, debit_after__lt=late)
        | Q(state=RenewalState.DEBITING, debited_at__lt=late - GATEWAY_DEBIT_WINDOW)
    )
