"""`subscription_get_active` reads the active subscription and its plan with one fixed SQL statement (kept for its
measured gain: docs/performance.md).

Same answer as `Subscription.objects.current().select_related("plan").filter(user=user).first()`: active by
status and by date (lifetime when `end_date` is empty), the caller's own only, full rows, one query.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.tests.factories import UserFactory
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active, user_entitlements
from subscriptions.tests.factories import PLAN_FEATURES, PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _orm_active(user):
    return Subscription.objects.current(timezone.now()).select_related("plan").filter(user=user).first()


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_returns_the_same_full_rows_as_the_orm_with_the_plan_loaded(django_assert_num_queries):
    user = UserFactory()
    SubscriptionFactory(user=user, plan__code="premium_monthly", auto_renew=False, cancel_reason="none")
    expected = _orm_active(user)

    with django_assert_num_queries(1):
        found = subscription_get_active(now=timezone.now(), user=user)
        plan = found.plan  # already loaded: no second query

    assert _values(found) == _values(expected)
    assert _values(plan) == _values(expected.plan)
    assert plan.features == PLAN_FEATURES["premium_monthly"]  # JSON decoded as the ORM does
    assert timezone.is_aware(found.end_date)
    assert found._state.adding is False


def test_lifetime_subscription_without_end_date_is_active():
    user = UserFactory()
    lifetime = SubscriptionFactory(user=user, plan__code="ar_plus", lifetime=True)
    assert subscription_get_active(now=timezone.now(), user=user).pk == lifetime.pk


def test_expired_by_date_is_not_active_even_with_status_active():
    user = UserFactory()
    SubscriptionFactory(user=user, plan__code="premium_monthly", end_date=timezone.now() - timedelta(seconds=1))
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert _orm_active(user) is None
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()


@pytest.mark.parametrize(
    "status",
    [
        SubscriptionStatus.PENDING,
        SubscriptionStatus.CANCELLED,
        SubscriptionStatus.EXPIRED,
        SubscriptionStatus.SUPERSEDED,
    ],
)
def test_other_statuses_are_not_active(status):
    user = UserFactory()
    SubscriptionFactory(user=user, plan__code="premium_monthly", status=status)
    assert subscription_get_active(now=timezone.now(), user=user) is None


def test_only_the_callers_own_subscription_is_returned():
    owner, other = UserFactory(), UserFactory()
    SubscriptionFactory(user=other, plan__code="premium_monthly")
    assert subscription_get_active(now=timezone.now(), user=owner) is None
    mine = SubscriptionFactory(user=owner, plan=PlanFactory(code="ar_premier"))
    found = subscription_get_active(now=timezone.now(), user=owner)
    assert found.pk == mine.pk
    assert found.plan.code == "ar_premier"
    assert user_entitlements(now=timezone.now(), user=owner) == frozenset(PLAN_FEATURES["ar_premier"])


def test_active_one_is_found_among_past_ones():
    user = UserFactory()
    SubscriptionFactory(user=user, plan__code="premium_monthly", expired=True)
    SubscriptionFactory(user=user, plan__code="ar_premier", cancelled=True)
    current = SubscriptionFactory(user=user, plan__code="ar_plus")
    assert subscription_get_active(now=timezone.now(), user=user).pk == current.pk


def test_anonymous_or_missing_user_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert subscription_get_active(now=timezone.now(), user=None) is None
        assert subscription_get_active(now=timezone.now(), user=AnonymousUser()) is None


def test_me_is_one_query_with_and_without_a_subscription(auth_client, user, django_assert_num_queries):
    auth_client.get("/api/v1/users/me")  # warm: connection set-up is not the request's cost
    with django_assert_num_queries(2):  # the session with its user; the active subscription with its plan
        assert auth_client.get("/api/v1/users/me").json()["data"]["subscription"] is None
    SubscriptionFactory(user=user, plan__code="premium_monthly")
    with django_assert_num_queries(2):
        summary = auth_client.get("/api/v1/users/me").json()["data"]["subscription"]
    assert summary["planId"] == "premium_monthly"
    assert summary["features"] == PLAN_FEATURES["premium_monthly"]
