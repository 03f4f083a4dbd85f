"""Staff can end access at once after the user cancelled at period end (docs/staff.md, docs/payments.md).

Bug reproduced: the user cancels (access until the period's end), then an admin's
`PATCH /admin/subscriptions/:id/cancel {"immediate": true}` answered 409 `already_cancelled`, so staff could
not end access at once.
"""

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from payments.models import Payment, Refund
from subscriptions.models import Grant, SubscriptionStatus
from subscriptions.selectors import subscription_get_active, user_entitlements
from subscriptions.tests.factories import GrantedSubscriptionFactory, PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancelled_at_period_end(make_auth_client):
    user = UserFactory()
    subscription = GrantedSubscriptionFactory(
        user=user, plan=PlanFactory(code="premium_monthly", features=["premium_rooms"])
    )
    answer = make_auth_client(user).post("/api/v1/subscriptions/cancel", {"reason": "too pricey"}, format="json")
    assert answer.status_code == 200, answer.content
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.cancelled_at is not None
    assert user_entitlements(now=timezone.now(), user=user) == {"premium_rooms"}
    return user, subscription


def _cancel(client, subscription, body):
    return client.patch(f"/api/v1/admin/subscriptions/{subscription.pk}/cancel", body, format="json")


def test_an_admin_ends_at_once_what_the_user_cancelled_at_period_end(admin_client, admin_user, cancelled_at_period_end):
    user, subscription = cancelled_at_period_end
    users_cancel = subscription.cancelled_at
    payments_before = list(Payment.objects.values_list("pk", "status"))

    response = _cancel(admin_client, subscription, {"immediate": True, "reason": "chargeback risk"})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "cancelled"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.end_date <= timezone.now()
    assert subscription.cancelled_at == users_cancel  # when the user asked stays on record
    assert subscription.cancel_reason == "chargeback risk"
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()
    assert not Grant.objects.filter(user=user, ends_at__gt=timezone.now()).exists()
    row = AuditLog.objects.filter(action="subscription.cancel", actor=admin_user).get()
    assert row.changes["before"]["status"] == "active"
    assert row.changes["after"]["status"] == "cancelled"
    assert row.changes["after"]["immediate"] is True
    # Ending access refunds nothing by itself: a refund is the separate admin action.
    assert not Refund.objects.exists()
    assert list(Payment.objects.values_list("pk", "status")) == payments_before


def test_without_a_reason_the_users_reason_is_kept(admin_client, cancelled_at_period_end):
    _, subscription = cancelled_at_period_end
    assert _cancel(admin_client, subscription, {"immediate": True}).status_code == 200
    subscription.refresh_from_db()
    assert subscription.cancel_reason == "too pricey"


def test_a_second_period_end_cancel_and_a_second_immediate_cancel_stay_409(admin_client, cancelled_at_period_end):
    user, subscription = cancelled_at_period_end
    again = _cancel(admin_client, subscription, {})
    assert again.status_code == 409
    assert again.json()["code"] == "already_cancelled"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert user_entitlements(now=timezone.now(), user=user) == {"premium_rooms"}

    assert _cancel(admin_client, subscription, {"immediate": True}).status_code == 200
    audits = AuditLog.objects.filter(action="subscription.cancel").count()
    once_more = _cancel(admin_client, subscription, {"immediate": True})
    assert once_more.status_code == 409
    assert once_more.json()["code"] == "already_cancelled"
    assert AuditLog.objects.filter(action="subscription.cancel").count() == audits
