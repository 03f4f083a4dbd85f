import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from subscriptions import seed
from subscriptions.models import Plan, Subscription, SubscriptionStatus
from subscriptions.selectors import subscription_get_active, user_entitlements
from subscriptions.tests.factories import GrantedSubscriptionFactory

pytestmark = pytest.mark.django_db

PREMIUM = {"premium_themed_rooms", "therapy_sessions", "ai_companion", "sound_tracks", "basic_content"}


def test_seed_creates_the_priced_plans_and_is_idempotent(plans):
    expected = {
        "healer_free": (0, None),
        "premium_monthly": (29900, 30),
        "premium_yearly": (299900, 365),
        "anytimebuddy_lifetime": (999900, None),
        "track_single": (3000, 30),
        "ar_premier": (9900, 30),
        "ar_plus": (19900, 30),
    }
    assert {code: (plan.amount_paise, plan.duration_days) for code, plan in plans.items()} == expected
    assert set(plans["anytimebuddy_lifetime"].features) == PREMIUM
    assert plans["anytimebuddy_lifetime"].period == "lifetime"
    assert plans["anytimebuddy_lifetime"].type == "one_time"
    assert set(plans["ar_plus"].features) == {"ar_plus_rooms", "ar_premier_rooms", "basic_content"}
    # Staff edit a price in the admin; a re-seed keeps it and creates nothing new.
    Plan.objects.filter(code="premium_monthly").update(amount_paise=34900)
    seed.run(stdout=io.StringIO(), demo_accounts=False)
    assert Plan.objects.count() == 7
    assert Plan.objects.get(code="premium_monthly").amount_paise == 34900


def test_plans_list_is_public_and_hides_inactive_plans(api_client, plans):
    Plan.objects.filter(code="ar_plus").update(is_active=False)
    response = api_client.get("/api/v1/subscriptions/plans")
    assert response.status_code == 200
    body = response.json()
    codes = [plan["id"] for plan in body["data"]]
    assert "ar_plus" not in codes
    assert "premium_monthly" in codes
    monthly = next(plan for plan in body["data"] if plan["id"] == "premium_monthly")
    assert monthly["amountPaise"] == 29900
    assert monthly["amount"] == 299
    assert monthly["durationDays"] == 30
    assert monthly["currency"] == "INR"
    assert set(monthly["features"]) == PREMIUM


def test_current_is_null_without_subscription(auth_client, plans):
    response = auth_client.get("/api/v1/subscriptions/current")
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["subscription"] is None


def test_active_is_404_without_subscription(auth_client, plans):
    response = auth_client.get("/api/v1/subscriptions/active")
    assert response.status_code == 404
    assert response.json()["code"] == "no_active_subscription"


def test_current_and_active_shapes(auth_client, user, plans):
    subscription = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    for path in ("/api/v1/subscriptions/current", "/api/v1/subscriptions/active"):
        body = auth_client.get(path).json()
        assert body["data"] == body["subscription"]
        data = body["data"]
        assert data["id"] == str(subscription.pk)
        assert data["planId"] == "premium_monthly"
        assert data["planName"] == "Premium Monthly"
        assert data["status"] == "active"
        assert data["autoRenew"] is False  # no Autopay mandate: nothing will renew it
        assert data["cancelledAt"] is None
        assert data["startDate"].endswith("Z")
        assert data["endDate"].endswith("Z")
        assert set(data["features"]) == PREMIUM


def test_current_reports_the_real_status_of_the_latest_when_none_is_active(auth_client, user, plans):
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    body = auth_client.get("/api/v1/subscriptions/current").json()
    assert body["subscription"]["status"] == "expired"  # past its end date, not yet swept
    assert auth_client.get("/api/v1/subscriptions/active").status_code == 404
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()


def test_same_plan_extends_from_the_current_end(user, plans):
    first = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    second = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    assert first.pk == second.pk
    assert Subscription.objects.filter(user=user).count() == 1
    second.refresh_from_db()
    assert second.end_date - second.start_date == timedelta(days=60)


def test_plan_of_the_same_features_is_appended_after_the_current_end(user, plans):
    monthly = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    same = GrantedSubscriptionFactory(user=user, plan=plans["premium_yearly"])
    assert same.pk == monthly.pk
    monthly.refresh_from_db()
    assert monthly.status == SubscriptionStatus.ACTIVE
    assert monthly.end_date - monthly.start_date == timedelta(days=30 + 365)
    assert subscription_get_active(now=timezone.now(), user=user).pk == monthly.pk


def test_lifetime_starts_now_and_supersedes_the_row_of_the_monthly_plan(user, plans):
    old = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    new = GrantedSubscriptionFactory(user=user, plan=plans["anytimebuddy_lifetime"])
    old.refresh_from_db()
    assert old.status == SubscriptionStatus.SUPERSEDED
    assert old.auto_renew is False
    assert new.status == SubscriptionStatus.ACTIVE
    assert new.end_date is None
    assert subscription_get_active(now=timezone.now(), user=user).pk == new.pk


def test_lifetime_has_no_end(user, plans):
    subscription = GrantedSubscriptionFactory(user=user, plan=plans["anytimebuddy_lifetime"])
    assert subscription.end_date is None
    assert subscription.auto_renew is False
    with time_machine.travel(timezone.now() + timedelta(days=3650)):
        assert subscription_get_active(now=timezone.now(), user=user).pk == subscription.pk


def test_history_is_paginated_newest_first(auth_client, user, plans, django_assert_num_queries):
    GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    GrantedSubscriptionFactory(user=user, plan=plans["premium_yearly"])
    GrantedSubscriptionFactory(user=user, plan=plans["anytimebuddy_lifetime"])
    GrantedSubscriptionFactory(user=UserFactory(), plan=plans["premium_monthly"])  # someone else's
    # auth user lookup, count, page with plans
    with django_assert_num_queries(3):
        response = auth_client.get("/api/v1/subscriptions?limit=2")
    body = response.json()
    assert [row["planId"] for row in body["data"]] == ["anytimebuddy_lifetime", "premium_monthly"]
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 2, "pages": 1}
    assert [row["status"] for row in body["data"]] == ["active", "superseded"]


def test_cancel_keeps_access_until_end_and_twice_is_409(auth_client, user, plans):
    subscription = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    response = auth_client.post("/api/v1/subscriptions/cancel", {"reason": "too expensive"}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["autoRenew"] is False
    assert data["cancelledAt"] is not None
    subscription.refresh_from_db()
    assert subscription.cancel_reason == "too expensive"
    assert "premium_themed_rooms" in user_entitlements(now=timezone.now(), user=user)
    assert AuditLog.objects.filter(action="subscription.cancel", resource_id=str(subscription.pk)).count() == 1

    again = auth_client.patch(f"/api/v1/subscriptions/{subscription.pk}/cancel", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_cancelled"
    assert AuditLog.objects.filter(action="subscription.cancel").count() == 1


def test_cancel_without_active_subscription_is_404(auth_client, plans):
    response = auth_client.post("/api/v1/subscriptions/cancel", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "no_active_subscription"


def test_cancel_of_another_users_subscription_is_404_and_changes_nothing(auth_client, plans):
    other = UserFactory()
    subscription = GrantedSubscriptionFactory(user=other, plan=plans["premium_monthly"])
    Subscription.objects.filter(pk=subscription.pk).update(auto_renew=True)  # as if a mandate renewed it
    for subscription_id in (subscription.pk, "not-a-uuid"):
        response = auth_client.patch(f"/api/v1/subscriptions/{subscription_id}/cancel", {}, format="json")
        assert response.status_code == 404
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None
    assert subscription.auto_renew is True


def test_patient_cannot_cancel_immediately(auth_client, user, plans):
    subscription = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    response = auth_client.patch(f"/api/v1/subscriptions/{subscription.pk}/cancel", {"immediate": True}, format="json")
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None


def test_admin_can_cancel_immediately(admin_client, plans):
    owner = UserFactory()
    subscription = GrantedSubscriptionFactory(user=owner, plan=plans["premium_monthly"])
    response = admin_client.patch(
        f"/api/v1/subscriptions/{subscription.pk}/cancel", {"immediate": True, "reason": "fraud"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "cancelled"
    assert subscription_get_active(now=timezone.now(), user=owner) is None
    log = AuditLog.objects.get(action="subscription.cancel")
    assert log.changes["after"]["immediate"] is True


def test_expire_command_marks_past_subscriptions(user, plans):
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        expired = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    other_user = UserFactory()
    live = GrantedSubscriptionFactory(user=other_user, plan=plans["premium_monthly"])
    lifetime = GrantedSubscriptionFactory(user=UserFactory(), plan=plans["anytimebuddy_lifetime"])
    out = io.StringIO()
    call_command("expire_subscriptions", stdout=out)
    assert "Expired 1" in out.getvalue()
    expired.refresh_from_db()
    live.refresh_from_db()
    lifetime.refresh_from_db()
    assert expired.status == SubscriptionStatus.EXPIRED
    assert live.status == SubscriptionStatus.ACTIVE
    assert lifetime.status == SubscriptionStatus.ACTIVE


def test_upgrade_to_free_plan_activates_at_once(auth_client, user, plans):
    response = auth_client.post("/api/v1/subscriptions/upgrade", {"planId": "healer_free"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["subscription"]["status"] == "active"
    assert body["subscription"]["planId"] == "healer_free"
    assert user_entitlements(now=timezone.now(), user=user) == frozenset({"basic_content"})


def test_upgrade_unknown_plan_is_404(auth_client, plans):
    response = auth_client.post("/api/v1/subscriptions/upgrade", {"planId": "platinum"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "plan_not_found"
    assert Subscription.objects.count() == 0


def test_free_plan_cannot_replace_a_paid_one(auth_client, user, plans):
    paid = GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    response = auth_client.post("/api/v1/subscriptions/upgrade", {"planId": "healer_free"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "plan_not_purchasable"
    assert subscription_get_active(now=timezone.now(), user=user).pk == paid.pk
    assert Subscription.objects.filter(user=user).count() == 1


def test_endpoints_need_authentication(api_client, plans):
    for method, path in (
        ("get", "/api/v1/subscriptions/current"),
        ("get", "/api/v1/subscriptions/active"),
        ("get", "/api/v1/subscriptions"),
        ("post", "/api/v1/subscriptions/cancel"),
        ("post", "/api/v1/subscriptions/upgrade"),
    ):
        assert getattr(api_client, method)(path).status_code == 401
