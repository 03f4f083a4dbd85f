"""Typed errors of the subscriptions domain (codes are part of the API contract)."""

from manas360.api.errors import ApplicationError, Conflict, NotFound
from manas360.state_machine import TransitionRefused


class PlanNotFound(NotFound):
    code = "plan_not_found"
    default_message = "Plan not found."


class NoActiveSubscription(NotFound):
    code = "no_active_subscription"
    default_message = "You have no active subscription."


class SubscriptionNotFound(NotFound):
    default_message = "Subscription not found."


class AlreadyCancelled(Conflict):
    code = "already_cancelled"
    default_message = "This subscription is already cancelled."


class SubscriptionStateConflict(TransitionRefused):
    code = "subscription_state_conflict"
    default_message = "The subscription is not in a state that allows this."


class PlanNotPurchasable(Conflict):
    code = "plan_not_purchasable"
    default_message = "Your current subscription already covers this plan."


class FreePlanNeedsNoPayment(ApplicationError):
    code = "plan_is_free"
    default_message = "This plan is free: activate it with POST /subscriptions/upgrade."
