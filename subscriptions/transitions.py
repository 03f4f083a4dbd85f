"""The subscription state machine: the one place that knows which status moves are legal."""

from subscriptions.errors import SubscriptionStateConflict
from subscriptions.models import Subscription, SubscriptionStatus

S = SubscriptionStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.ACTIVE, S.CANCELLED, S.EXPIRED},
    S.ACTIVE: {S.CANCELLED, S.EXPIRED, S.SUPERSEDED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
    S.SUPERSEDED: set(),
}


def transition(subscription: Subscription, to_status: str) -> None:
    """Move `subscription` to `to_status` (caller saves it); 409 for an illegal move."""
    if to_status not in ALLOWED_TRANSITIONS[subscription.status]:
        raise SubscriptionStateConflict(f"A {subscription.status} subscription cannot become {to_status}.")
    subscription.status = to_status
