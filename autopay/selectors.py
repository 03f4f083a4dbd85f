"""Reads of mandates and renewals."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import User
from autopay.models import LIVE_STATES, Mandate, MandateState, Renewal, RenewalState

# PhonePe retries a debit it could not take for up to 48 hours before it answers FAILED.
GATEWAY_DEBIT_WINDOW = timedelta(hours=48)


def _mandates(user: User) -> QuerySet[Mandate]:
    return Mandate.objects.select_related("plan", "subscription", "setup_payment").filter(user=user)


def mandate_get_live(*, user: User) -> Mandate | None:
    """The user's live mandate: the active or paused one first (an approval not kept may still be activating
    beside it until PhonePe confirms its cancel), else the newest one waiting for approval."""
    renewing_first = Case(
        When(state__in=[MandateState.ACTIVE, MandateState.PAUSED], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return _mandates(user).filter(state__in=LIVE_STATES).order_by(renewing_first, "-created_at").first()


def mandate_get_current(*, user: User) -> Mandate | None:
    """The user's live mandate (`mandate_get_live`), else the most recent one, else None."""
    return mandate_get_live(user=user) or _mandates(user).first()


def renewal_open(*, mandate: Mandate) -> Renewal | None:
    return mandate.renewals.filter(state__in=["scheduled", "notified", "debiting"]).first()


def renewals_past_deadline(*, now: datetime) -> QuerySet[Renewal]:
    """Open renewals that should have moved on by now (JOBS_OVERDUE_AFTER_MINUTES after their step's deadline):

    * scheduled: the notification is sent by the job run that creates the renewal;
    * notified: the debit is requested once `debit_after` has come;
    * debiting: PhonePe answers COMPLETED or FAILED within its own 48 h of retries.

    One listed here means its mandate's job is not running or cannot finish (/metrics
    `renewals_past_deadline`, the admin's "past its deadline" filter).
    """
    late = now - timedelta(minutes=settings.JOBS_OVERDUE_AFTER_MINUTES)
    return Renewal.objects.filter(
        Q(state=RenewalState.SCHEDULED, created_at__lt=late)
        | Q(state=RenewalState.NOTIFIED, debit_after__lt=late)
        | Q(state=RenewalState.DEBITING, debited_at__lt=late - GATEWAY_DEBIT_WINDOW)
    )
