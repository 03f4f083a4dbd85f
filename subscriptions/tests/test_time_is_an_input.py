"""Time is an input (docs/contributing.md): the entitlement rules and the views act at the `now` they are given."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from subscriptions.entitlements import entitlement_grant
from subscriptions.models import Grant, GrantState, Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active
from subscriptions.services import subscriptions_expire

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
FAR = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)  # years away from the clock: only the argument can put it here


def test_a_grant_starts_at_the_now_it_is_given_and_is_active_by_that_now(user, plans):
    with transaction.atomic():
        result = entitlement_grant(user=user, plan=plans["premium_monthly"], now=FAR)

    grant = Grant.objects.get(user=user)
    assert (grant.state, grant.starts_at, grant.ends_at) == (GrantState.CURRENT, FAR, FAR + 30 * DAY)
    assert result.subscription is not None
    assert (result.subscription.start_date, result.subscription.end_date) == (FAR, FAR + 30 * DAY)
    assert subscription_get_active(user=user, now=FAR + 29 * DAY) == result.subscription
    assert subscription_get_active(user=user, now=FAR + 30 * DAY) is None  # the end is exclusive


def test_expiry_runs_by_the_now_it_is_given(user, plans):
    with transaction.atomic():
        granted = entitlement_grant(user=user, plan=plans["premium_monthly"], now=FAR).subscription
    assert granted is not None
    end = FAR + 30 * DAY

    assert subscriptions_expire(now=end - timedelta(seconds=1)) == 0
    granted.refresh_from_db()
    assert (granted.status, granted.end_date) == (SubscriptionStatus.ACTIVE, end)  # nothing moved
    assert Grant.objects.get(user=user).state == GrantState.CURRENT

    assert subscriptions_expire(now=end + timedelta(seconds=1)) == 1
    granted.refresh_from_db()
    assert granted.status == SubscriptionStatus.EXPIRED
    assert Grant.objects.get(user=user).state == GrantState.ENDED


class _Clock:
    """Stands in for `django.utils.timezone` inside `manas360.api.clock`: counts the readings."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant
        self.readings = 0

    def now(self) -> datetime:
        self.readings += 1
        return self.instant


def test_a_request_reads_the_clock_once_and_every_step_uses_that_reading(auth_client, user, plans, monkeypatch):
    with transaction.atomic():
        subscription = entitlement_grant(user=user, plan=plans["premium_monthly"], now=timezone.now()).subscription
    assert subscription is not None
    clock = _Clock(timezone.now() + 2 * DAY)  # inside the period, and unlike any reading the services could take
    monkeypatch.setattr("manas360.api.clock.timezone", clock)

    # The cancel view asks for `now` three times: to find the active row, for the service, for the serializer.
    response = auth_client.post("/api/v1/subscriptions/cancel", {"reason": "moving"}, format="json")

    assert response.status_code == 200, response.json()
    assert clock.readings == 1
    subscription.refresh_from_db()
    assert subscription.cancelled_at == clock.instant
    assert response.json()["data"]["status"] == "active"


def test_a_view_given_a_now_past_the_end_answers_as_of_that_now(auth_client, user, plans, monkeypatch):
    with transaction.atomic():
        subscription = entitlement_grant(user=user, plan=plans["premium_monthly"], now=timezone.now()).subscription
    assert subscription is not None
    assert subscription.end_date is not None
    monkeypatch.setattr("manas360.api.clock.timezone", _Clock(subscription.end_date + DAY))

    current = auth_client.get("/api/v1/subscriptions/current")

    assert current.status_code == 200
    assert current.json()["data"]["status"] == "expired"  # the row still says active; by that now it has lapsed
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE
    assert auth_client.get("/api/v1/subscriptions/active").json()["code"] == "no_active_subscription"
