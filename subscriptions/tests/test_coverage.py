"""One definition of what a plan covers (subscriptions/coverage.py), used by the ledger and by room access alike."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from payments.models import PaymentStatus
from payments.tests.factories import PaymentFactory
from rooms.access import TIER_FEATURE, tier_is_open
from rooms.models import ThemeTier
from subscriptions.coverage import features_covered, features_covered_by, plan_covers
from subscriptions.entitlements import entitlement_check, entitlement_grant
from subscriptions.models import Entitlement, Grant, GrantState
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
E = Entitlement


def paid(user, plan):
    payment = PaymentFactory(user=user, plan=plan, status=PaymentStatus.SUCCESS)
    with transaction.atomic():
        return payment, entitlement_grant(now=timezone.now(), user=user, plan=plan, payment=payment)


def test_premium_covers_both_ar_tiers_without_listing_them(plans):
    premium = plans["premium_monthly"]
    assert E.AR_PREMIER_ROOMS not in premium.features
    assert plan_covers(premium, E.AR_PREMIER_ROOMS)
    assert plan_covers(premium, E.AR_PLUS_ROOMS)
    assert (
        features_covered_by(premium)
        >= features_covered_by(plans["ar_plus"])
        >= features_covered_by(plans["ar_premier"])
    )
    assert not plan_covers(plans["ar_plus"], E.PREMIUM_THEMED_ROOMS)
    assert not plan_covers(plans["healer_free"], E.AR_PREMIER_ROOMS)
    assert features_covered([]) == frozenset()


@pytest.mark.parametrize("tier", ThemeTier.values)
def test_room_access_asks_the_same_definition_for_every_seeded_plan(plans, tier):
    for plan in plans.values():
        expected = TIER_FEATURE[tier] is None or plan_covers(plan, TIER_FEATURE[tier])
        assert tier_is_open(tier, frozenset(plan.features)) is expected, (plan.code, tier)


def test_unknown_tier_is_closed():
    assert tier_is_open("gold", frozenset({E.PREMIUM_THEMED_ROOMS.value})) is False


@pytest.mark.parametrize("held", ["premium_yearly", "anytimebuddy_lifetime"])
@pytest.mark.parametrize("add_on", ["ar_premier", "ar_plus", "track_single"])
def test_an_add_on_covered_by_premium_is_refused_and_premium_is_not_paused(user, plans, held, add_on):
    paid(user, plans[held])
    before = list(Grant.objects.values_list("pk", "state", "starts_at", "ends_at"))

    assert entitlement_check(now=timezone.now(), user=user, plan=plans[add_on]).verdict == "refuse"
    payment, result = paid(user, plans[add_on])

    assert result.granted is False
    assert plans[held].name in result.reason
    assert not Grant.objects.filter(payment=payment).exists()
    assert list(Grant.objects.values_list("pk", "state", "starts_at", "ends_at")) == before
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == held


def test_an_add_on_outlasting_premium_is_queued_after_it_never_in_front(user, plans):
    with time_machine.travel(timezone.now() - 20 * DAY):
        premium, _ = paid(user, plans["premium_monthly"])  # 10 days left
    premium_grant = Grant.objects.get(payment=premium)

    payment, result = paid(user, plans["ar_plus"])

    assert result.granted is True
    premium_grant.refresh_from_db()
    assert premium_grant.state == GrantState.CURRENT  # not paused
    add_on = Grant.objects.get(payment=payment)
    assert (add_on.state, add_on.starts_at) == (GrantState.QUEUED, premium_grant.ends_at)
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "premium_monthly"


def test_a_plan_that_opens_a_new_tier_still_starts_now(user, plans):
    paid(user, plans["ar_premier"])
    assert entitlement_check(now=timezone.now(), user=user, plan=plans["ar_plus"]).verdict == "front"
    assert entitlement_check(now=timezone.now(), user=user, plan=plans["premium_monthly"]).verdict == "front"
