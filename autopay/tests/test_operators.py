"""What operators see: the Django admin's mandates and renewal history, and analytics that count
renewals apart from first purchases (MRR and churn from real rows)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from analytics.dates import DateRange
from analytics.selectors import analytics_report
from analytics.selectors.recurring import recurring_summary
from autopay.models import Mandate, Renewal
from autopay.tests.test_renewals import _renew_once
from staff.tests.helpers import staff_admin_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def renewed_twice(plans, simulator, make_auth_client, turn_on, autopay_sim, job_engine):
    from autopay.services import mandate_sync

    user = UserFactory()
    client = make_auth_client(user)
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    mandate_sync(now=timezone.now(), mandate_id=mandate.pk)
    _renew_once(job_engine, user)
    _renew_once(job_engine, user)
    return user, client, mandate


def _all_time():
    today = timezone.now().date()
    return DateRange(start=today - timedelta(days=1), end=today + timedelta(days=120), period="custom")


def test_analytics_count_renewals_apart_from_first_purchases(renewed_twice):
    _user, client, _mandate = renewed_twice
    summary = recurring_summary(date_range=_all_time())
    assert (summary["first_purchases"], summary["renewals"]) == (1, 2)
    assert summary["renewal_revenue"] == 2 * 29900
    assert summary["mrr"] == 29900
    rows = analytics_report(report_type="revenue", group_by="month", date_range=_all_time())["rows"]
    assert sum(row["renewals"] for row in rows) == 2
    assert sum(row["first_purchases"] for row in rows) == 1

    client.delete("/api/v1/subscriptions/autopay")
    assert recurring_summary(date_range=_all_time())["mrr"] == 0
    later = timezone.now().date() + timedelta(days=1)
    churn = recurring_summary(date_range=DateRange(start=later, end=later, period="custom"))
    assert (churn["mandates_at_start"], churn["mandates_churned"]) == (0, 0)  # it ended before this range


def test_churn_counts_mandates_that_ended_in_the_range(renewed_twice):
    _user, client, mandate = renewed_twice
    Mandate.objects.filter(pk=mandate.pk).update(activated_at=timezone.now() - timedelta(days=10))
    client.delete("/api/v1/subscriptions/autopay")
    today = timezone.now().date()
    churn = recurring_summary(date_range=DateRange(start=today, end=today, period="custom"))
    assert (churn["mandates_at_start"], churn["mandates_churned"], churn["mandate_churn_rate"]) == (1, 1, 100.0)


def test_admin_shows_mandates_and_renewal_history_read_only(renewed_twice):
    _user, _, mandate = renewed_twice
    client = staff_admin_client()
    listing = client.get("/admin/autopay/mandate/")
    assert listing.status_code == 200
    assert mandate.merchant_subscription_id in listing.content.decode()
    page = client.get(f"/admin/autopay/mandate/{mandate.pk}/change/").content.decode()
    for renewal in Renewal.objects.filter(mandate=mandate):
        assert renewal.payment_id is not None
        assert str(renewal.payment_id) in page or str(renewal.payment) in page
    assert client.get("/admin/autopay/renewal/").status_code == 200
    assert client.get("/admin/autopay/mandate/add/").status_code == 403
    before = Mandate.objects.get(pk=mandate.pk).state
    client.post(f"/admin/autopay/mandate/{mandate.pk}/change/", {"state": "cancelled"})
    assert Mandate.objects.get(pk=mandate.pk).state == before
