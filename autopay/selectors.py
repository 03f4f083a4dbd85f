"""Reads of mandates and renewals."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from accounts.models import User
from autopay.models import LIVE_STATES, Mandate, MandateState, Renewal


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
