from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from subscriptions.models import Subscription
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_cancel_of_a_subscription_past_its_end_date_is_409_and_changes_nothing(auth_client, user):
    """Expiry is by date everywhere: an `active` row whose end date has passed is not cancellable."""
    subscription = SubscriptionFactory(
        user=user,
        plan__code="premium_monthly",
        start_date=timezone.now() - timedelta(days=31),
        end_date=timezone.now() - timedelta(days=1),
        auto_renew=True,
    )
    response = auth_client.patch(f"/api/v1/subscriptions/{subscription.pk}/cancel", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "subscription_state_conflict"
    subscription.refresh_from_db()
    assert subscription.cancelled_at is None
    assert subscription.auto_renew is True
    assert not AuditLog.objects.filter(action="subscription.cancel").exists()
    assert Subscription.objects.count() == 1
