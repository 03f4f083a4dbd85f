"""Errors of the themed-rooms domain (codes pinned in docs/api.md §6 and §11)."""

from rest_framework import status

from manas360.api.errors import ApplicationError, Conflict


class SubscriptionRequired(ApplicationError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    code = "subscription_required"
    default_message = "An active subscription is required to open this theme."


class FeatureNotAvailable(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "feature_not_available"
    default_message = "Your current plan does not include this theme."


class SessionAlreadyEnded(Conflict):
    code = "session_already_ended"
    default_message = "This session has already ended."
