"""Reads of mandates and renewals."""

from accounts.models import User
from autopay.models import LIVE_STATES, Mandate, Renewal


def mandate_get_current(*, user: User) -> Mandate | None:
    """The user's live mandate, else the most recent one, else None."""
    mandates = Mandate.objects.select_related("plan", "subscription", "setup_payment").filter(user=user)
    return mandates.filter(state__in=LIVE_STATES).order_by("-created_at").first() or mandates.first()


def renewal_open(*, mandate: Mandate) -> Renewal | None:
    return mandate.renewals.filter(state__in=["scheduled", "notified", "debiting"]).first()
