"""The one place a subscription's status and a grant's state change, along the tables in `subscriptions.models`.

A move the table refuses raises (`subscription_state_conflict` for a subscription, `TransitionRefused` for a
grant) and changes nothing. Neither writes an audit row of its own: the operation that moves them does.
"""

from subscriptions.models import GRANT_MACHINE, SUBSCRIPTION_MACHINE, Grant, Subscription


def transition(subscription: Subscription, to_status: str) -> None:
    """Move `subscription` to `to_status` (caller saves it)."""
    SUBSCRIPTION_MACHINE.transition(subscription, to_status)


def grant_move(grant: Grant, to_state: str) -> None:
    """Move `grant` to `to_state` (caller saves it)."""
    GRANT_MACHINE.transition(grant, to_state)
