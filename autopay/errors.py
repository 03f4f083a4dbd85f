"""Typed errors of Autopay (codes are part of the API contract, docs/autopay.md)."""

from manas360.api.errors import ApplicationError, Conflict, NotFound


class PlanNotRenewable(ApplicationError):
    code = "plan_not_renewable"
    default_message = "Autopay is available for monthly and yearly plans only."


class AutopayAlreadyOn(Conflict):
    code = "autopay_already_on"
    default_message = "Autopay is already on for your subscription."


class AutopayCancellationPending(Conflict):
    code = "autopay_cancellation_pending"
    default_message = "Autopay is being turned off; PhonePe has not confirmed yet. Please try again shortly."


class AutopayNotFound(NotFound):
    code = "autopay_not_found"
    default_message = "You have no Autopay mandate to turn off."


class AutopaySetupInProgress(Conflict):
    code = "autopay_setup_in_progress"
    default_message = (
        "Another Autopay set-up is waiting for your approval in PhonePe. Finish it, or try again once it expires."
    )
