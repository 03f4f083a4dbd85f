"""Reads about what a user's subscription entitles them to."""

from subscriptions.models import Subscription


def subscription_get_active(*, user) -> Subscription | None:
    """The user's active, unexpired subscription with its plan, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Subscription.objects.current().select_related("plan").filter(user=user).first()


def user_entitlements(*, user) -> frozenset[str]:
    """The entitlement names the user's active subscription grants (empty when none)."""
    subscription = subscription_get_active(user=user)
    if subscription is None:
        return frozenset()
    return frozenset(subscription.plan.features or [])
