"""The Django admin shows a user's grants as a read-only timeline (plan, period, paying payment, state, refunds)."""

import re

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from payments.models import PaymentStatus, Refund, RefundStatus
from payments.tests.factories import PaymentFactory
from staff.tests.helpers import staff_admin_client
from subscriptions.entitlements import entitlement_revoke
from subscriptions.models import Grant, GrantState, Subscription
from subscriptions.tests.factories import GrantedSubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    return staff_admin_client()


@pytest.fixture
def history(plans):
    """Two paid months; the second refunded."""
    user = UserFactory()
    first = PaymentFactory(user=user, plan=plans["premium_monthly"], status=PaymentStatus.SUCCESS)
    GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"], payment=first)
    second = PaymentFactory(user=user, plan=plans["premium_monthly"], status=PaymentStatus.SUCCESS)
    GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"], payment=second)
    Refund.objects.create(
        payment=second,
        merchant_refund_id="R360_admin_timeline",
        amount_paise=second.amount_paise,
        status=RefundStatus.COMPLETED,
    )
    second.status = PaymentStatus.REFUNDED
    second.save(update_fields=["status"])
    with transaction.atomic():
        entitlement_revoke(now=timezone.now(), payment=second)
    return user, first, second


def test_grants_timeline_lists_plan_period_payment_state_and_refunds(staff_client, history):
    user, first, second = history
    response = staff_client.get(f"/admin/subscriptions/grant/?user__id__exact={user.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert first.merchant_order_id in html
    assert second.merchant_order_id in html
    assert "R360_admin_timeline ₹299.00 completed" in html
    plans = re.findall(r'<td class="field-plan[^"]*">(.*?)</td>', html)
    assert len(plans) == 2
    assert all("premium_monthly" in plan for plan in plans)
    assert '<td class="field-period">never started</td>' in html  # the refunded, queued month
    assert "→" in html  # a period from start to end
    states = dict(Grant.objects.filter(user=user).values_list("payment_id", "state"))
    assert states == {first.pk: GrantState.CURRENT, second.pk: GrantState.REVOKED}
    assert '<td class="field-state">Current</td>' in html
    assert '<td class="field-state">Revoked (refunded)</td>' in html


def test_subscription_page_shows_its_grants_and_links_to_the_timeline(staff_client, history):
    user, first, _second = history
    subscription = Subscription.objects.get(user=user)
    page = staff_client.get(f"/admin/subscriptions/subscription/{subscription.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert first.merchant_order_id in html
    assert "R360_admin_timeline" in html
    listing = staff_client.get("/admin/subscriptions/subscription/").content.decode()
    assert f"/admin/subscriptions/grant/?user__id__exact={user.pk}" in listing


def test_grants_cannot_be_added_changed_or_deleted_in_the_admin(staff_client, history):
    _user, first, _second = history
    grant = Grant.objects.get(payment=first)
    assert staff_client.get("/admin/subscriptions/grant/add/").status_code == 403
    before = (grant.state, grant.starts_at, grant.ends_at)
    response = staff_client.post(f"/admin/subscriptions/grant/{grant.pk}/change/", {"state": "revoked"})
    assert response.status_code == 403
    assert staff_client.post(f"/admin/subscriptions/grant/{grant.pk}/delete/", {"post": "yes"}).status_code == 403
    grant.refresh_from_db()
    assert (grant.state, grant.starts_at, grant.ends_at) == before
