"""The entitlement rules (docs/payments.md, "What a payment buys") on the grant chain itself."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from payments.models import PaymentStatus
from payments.tests.factories import PaymentFactory
from subscriptions.entitlements import entitlement_check, entitlement_grant, entitlement_revoke
from subscriptions.models import Grant, GrantState, Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active, user_entitlements
from subscriptions.services import subscriptions_expire
from subscriptions.tests.factories import GrantedSubscriptionFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def paid(user, plan):
    """A successful payment for `plan` and what it grants; returns (payment, granted?)."""
    payment = PaymentFactory(user=user, plan=plan, status=PaymentStatus.SUCCESS)
    with transaction.atomic():
        result = entitlement_grant(now=timezone.now(), user=user, plan=plan, payment=payment)
    return payment, result


def revoke(payment):
    with transaction.atomic():
        entitlement_revoke(now=timezone.now(), payment=payment)


def test_lesser_plan_covered_for_its_whole_period_is_refused_and_changes_nothing(user, plans):
    paid(user, plans["premium_yearly"])
    before = list(Grant.objects.values_list("pk", "state", "starts_at", "ends_at"))
    payment, result = paid(user, plans["track_single"])
    assert result.granted is False
    assert "Premium Yearly" in result.reason
    assert not Grant.objects.filter(payment=payment).exists()
    assert list(Grant.objects.values_list("pk", "state", "starts_at", "ends_at")) == before
    assert entitlement_check(now=timezone.now(), user=user, plan=plans["track_single"]).verdict == "refuse"


def test_lesser_plan_outlasting_the_current_one_is_queued_after_it(user, plans):
    with time_machine.travel(timezone.now() - 20 * DAY):
        paid(user, plans["premium_monthly"])  # 10 days left
    monthly_end = subscription_get_active(now=timezone.now(), user=user).end_date
    payment, result = paid(user, plans["track_single"])
    assert result.granted is True
    track = Grant.objects.get(payment=payment)
    assert track.state == GrantState.QUEUED
    assert track.starts_at == monthly_end
    assert track.ends_at == monthly_end + 30 * DAY
    # The premium plan keeps running; its row ends when premium ends.
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "premium_monthly"
    assert subscription_get_active(now=timezone.now(), user=user).end_date == monthly_end


def test_better_plan_starts_now_and_the_unused_time_resumes_after_it(user, plans):
    with time_machine.travel(timezone.now() - 10 * DAY):
        premier, _ = paid(user, plans["ar_premier"])
    plus, result = paid(user, plans["ar_plus"])
    assert result.granted is True
    now = timezone.now()
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "ar_plus"
    assert "ar_plus_rooms" in user_entitlements(now=timezone.now(), user=user)
    paused, rest = Grant.objects.filter(payment=premier).order_by("created_at")
    assert paused.state == GrantState.ENDED
    assert rest.continues_id == paused.pk
    assert rest.state == GrantState.QUEUED
    new = Grant.objects.get(payment=plus)
    assert rest.starts_at == new.ends_at
    # Nothing paid for is lost: 10 days used + 20 days left = the 30 days bought.
    assert paused.duration + rest.duration == 30 * DAY
    assert abs(rest.ends_at - (now + 50 * DAY)) < timedelta(seconds=5)

    # When the better plan has run out, the sweep hands the user back the rest of the old one.
    with time_machine.travel(new.ends_at + timedelta(seconds=1)):
        assert subscriptions_expire(now=timezone.now()) == 1
        active = subscription_get_active(now=timezone.now(), user=user)
        assert active.plan.code == "ar_premier"
        assert active.end_date == rest.ends_at
    assert Subscription.objects.filter(user=user, status=SubscriptionStatus.EXPIRED, plan__code="ar_plus").exists()


def test_refunding_the_better_plan_resumes_the_paused_one_at_once(user, plans):
    with time_machine.travel(timezone.now() - 10 * DAY):
        paid(user, plans["ar_premier"])
    plus, _ = paid(user, plans["ar_plus"])
    revoke(plus)
    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.plan.code == "ar_premier"
    assert abs(active.end_date - (timezone.now() + 20 * DAY)) < timedelta(seconds=5)
    assert Grant.objects.get(payment=plus).state == GrantState.REVOKED


def test_refunding_the_running_month_moves_the_queued_one_forward(user, plans):
    first, _ = paid(user, plans["premium_monthly"])
    second, _ = paid(user, plans["premium_monthly"])
    revoke(first)
    active = subscription_get_active(now=timezone.now(), user=user)
    assert abs(active.end_date - (timezone.now() + 30 * DAY)) < timedelta(seconds=5)
    assert Grant.objects.get(payment=second).state == GrantState.CURRENT
    refunded = Grant.objects.get(payment=first)
    assert refunded.state == GrantState.REVOKED
    assert refunded.revoked_at is not None


def test_refunding_the_only_grant_ends_access_and_the_row_says_refunded(user, plans):
    payment, _ = paid(user, plans["premium_monthly"])
    revoke(payment)
    assert subscription_get_active(now=timezone.now(), user=user) is None
    row = Subscription.objects.get(user=user)
    assert row.status == SubscriptionStatus.CANCELLED
    assert row.cancel_reason == "refunded"


def test_refunding_a_lifetime_plan_gives_back_the_time_waiting_behind_it(user, plans):
    monthly, _ = paid(user, plans["premium_monthly"])
    lifetime, _ = paid(user, plans["anytimebuddy_lifetime"])
    waiting = Grant.objects.get(payment=monthly, continues__isnull=False)
    assert waiting.starts_at is None  # behind a lifetime grant: never reached
    assert subscription_get_active(now=timezone.now(), user=user).end_date is None
    revoke(lifetime)
    active = subscription_get_active(now=timezone.now(), user=user)
    assert active.plan.code == "premium_monthly"
    assert abs(active.end_date - (timezone.now() + 30 * DAY)) < timedelta(seconds=5)


def test_granting_twice_for_one_payment_changes_nothing(user, plans):
    payment, _ = paid(user, plans["premium_monthly"])
    end = subscription_get_active(now=timezone.now(), user=user).end_date
    with transaction.atomic():
        again = entitlement_grant(now=timezone.now(), user=user, plan=plans["premium_monthly"], payment=payment)
    assert again.granted is True
    assert Grant.objects.filter(payment=payment).count() == 1
    assert subscription_get_active(now=timezone.now(), user=user).end_date == end


def test_a_subscription_row_without_grants_is_adopted_not_lost(user, plans):
    legacy = SubscriptionFactory(user=user, plan=plans["premium_yearly"])
    end = legacy.end_date
    GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    legacy.refresh_from_db()
    assert legacy.status == SubscriptionStatus.ACTIVE
    assert legacy.end_date == end + 30 * DAY
    adopted = Grant.objects.get(user=user, note__startswith="adopted")
    assert adopted.state == GrantState.CURRENT


def test_admin_immediate_cancel_ends_every_grant(admin_client, user, plans):
    paid(user, plans["premium_monthly"])
    paid(user, plans["premium_monthly"])
    active = subscription_get_active(now=timezone.now(), user=user)
    response = admin_client.patch(f"/api/v1/subscriptions/{active.pk}/cancel", {"immediate": True}, format="json")
    assert response.status_code == 200
    assert not Grant.objects.filter(user=user, state__in=[GrantState.CURRENT, GrantState.QUEUED]).exists()
    assert subscription_get_active(now=timezone.now(), user=user) is None


def test_only_one_current_grant_per_user_is_a_database_rule(user, plans):
    paid(user, plans["premium_monthly"])
    queued_payment, _ = paid(user, plans["premium_monthly"])
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(payment=queued_payment).update(state=GrantState.CURRENT)


def test_someone_elses_grants_do_not_count(plans):
    owner, other = UserFactory(), UserFactory()
    GrantedSubscriptionFactory(user=owner, plan=plans["anytimebuddy_lifetime"])
    assert entitlement_check(now=timezone.now(), user=other, plan=plans["anytimebuddy_lifetime"]).verdict == "front"


def test_a_cancel_at_period_end_carries_over_to_the_plan_that_follows(auth_client, user, plans):
    paid(user, plans["premium_monthly"])
    paid(user, plans["premium_yearly"])  # appended: same features
    assert auth_client.post("/api/v1/subscriptions/cancel", {"reason": "moving"}, format="json").status_code == 200
    monthly_end = Grant.objects.get(plan__code="premium_monthly").ends_at
    with time_machine.travel(monthly_end + timedelta(seconds=1)):
        subscriptions_expire(now=timezone.now())
        active = subscription_get_active(now=timezone.now(), user=user)
        assert active.plan.code == "premium_yearly"
        assert active.auto_renew is False
        assert active.cancel_reason == "moving"
        assert active.cancelled_at is not None
