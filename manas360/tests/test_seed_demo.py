"""`manage.py seed --demo`: 90 days of activity for the analytics screens; the plain seed stays minimal."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import User
from analytics import selectors
from analytics.dates import parse_date_range
from analytics.exports import build_csv
from analytics.models import Assessment
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from rooms.models import RoomSession, RoomSessionStatus, Theme
from subscriptions.models import Grant, GrantState, Subscription, SubscriptionStatus

pytestmark = pytest.mark.django_db

DEMO = "@demo.manas360.local"


@pytest.fixture
def development(settings):
    settings.DEBUG = True


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed", *args, stdout=out)
    return out.getvalue()


def test_plain_seed_creates_accounts_and_reference_data_but_no_activity(development):
    _seed()
    assert User.objects.count() == 3  # the three demo accounts
    assert not User.objects.filter(email__endswith=DEMO).exists()
    assert RoomSession.objects.count() == Assessment.objects.count() == Payment.objects.count() == 0


def test_demo_seed_counts(development):
    output = _seed("--demo")

    assert User.objects.filter(email__endswith=DEMO, role="patient").count() == 40
    assert RoomSession.objects.count() == 360
    assert RoomSession.objects.filter(status=RoomSessionStatus.COMPLETED).count() == 288
    assert RoomSession.objects.filter(status=RoomSessionStatus.ABANDONED).count() == 72
    assert RoomSession.objects.filter(status=RoomSessionStatus.COMPLETED, rating__isnull=False).count() > 200
    assert Assessment.objects.filter(type="PHQ9").count() == 48
    assert Assessment.objects.filter(type="GAD7").count() == 32
    assert Payment.objects.filter(status=PaymentStatus.SUCCESS).count() == 18
    assert Payment.objects.filter(status=PaymentStatus.FAILED).count() == 3
    assert Payment.objects.filter(status=PaymentStatus.REFUNDED).count() == 1
    assert Refund.objects.filter(status=RefundStatus.COMPLETED).count() == 1
    assert "40 patients, 360 room sessions (288 completed), 80 assessments" in output


def test_demo_activity_lies_in_the_last_90_days(development):
    _seed("--demo")
    now = timezone.now()
    earliest = now - timedelta(days=90)
    for model, field in ((RoomSession, "started_at"), (Assessment, "taken_at"), (Payment, "created_at")):
        assert not model.objects.filter(Q(**{f"{field}__lt": earliest}) | Q(**{f"{field}__gt": now})).exists()
    joined = User.objects.filter(email__endswith=DEMO).values_list("created_at", flat=True)
    assert min(joined) < now - timedelta(days=80)  # spread over the period, not all today
    assert max(joined) > now - timedelta(days=10)


def test_demo_money_maps_to_access_and_theme_counters_match_sessions(development):
    _seed("--demo")
    now = timezone.now()
    # Every rupee kept maps to access through the ledger: one grant per successful payment, from its completion.
    for payment in Payment.objects.filter(status=PaymentStatus.SUCCESS):
        grant = Grant.objects.select_related("subscription").get(payment=payment, continues__isnull=True)
        assert (grant.user_id, grant.plan.code) == (payment.user_id, payment.product_ref)
        assert grant.starts_at == payment.completed_at
        running = grant.ends_at is None or grant.ends_at > now
        assert grant.state == (GrantState.CURRENT if running else GrantState.ENDED)
        subscription = grant.subscription
        assert subscription.status == (SubscriptionStatus.ACTIVE if running else SubscriptionStatus.EXPIRED)
    refunded = Payment.objects.get(status=PaymentStatus.REFUNDED)
    assert Grant.objects.get(payment=refunded).state == GrantState.REVOKED
    assert not Subscription.objects.filter(user=refunded.user, status=SubscriptionStatus.ACTIVE).exists()
    assert refunded.refunds.get().amount_paise == refunded.amount_paise
    assert not Grant.objects.filter(payment__status=PaymentStatus.FAILED).exists()
    completed = (
        RoomSession.objects.filter(status=RoomSessionStatus.COMPLETED)
        .values("theme")
        .annotate(count=Count("id"), rated=Count("rating"), total=Sum("rating"))
    )
    by_theme = {row["theme"]: row for row in completed}
    for theme in Theme.objects.all():
        row = by_theme.get(theme.pk, {"count": 0, "rated": 0, "total": None})
        assert (theme.session_count, theme.rating_count, theme.rating_sum) == (
            row["count"],
            row["rated"],
            row["total"] or 0,
        )


def test_every_analytics_screen_has_data_after_the_demo_seed(development):
    _seed("--demo")
    last_90_days = parse_date_range({"period": "90d"}, today=timezone.now().date())
    dashboard = selectors.analytics_dashboard(now=timezone.now(), date_range=last_90_days)
    summary = dashboard["summary"]
    paid = Payment.objects.filter(status=PaymentStatus.SUCCESS).aggregate(total=Sum("amount_paise"))["total"]
    assert summary["revenue"] == paid > 0
    assert summary["new_users"] >= 40
    assert summary["total_sessions"] == 360
    assert summary["active_subscriptions"] > 0
    assert dashboard["top_themes"]
    # Data in every week of the period, not only on a few days (the current week may have begun hours ago).
    weekly = selectors.analytics_report(report_type="sessions", group_by="week", date_range=last_90_days)["rows"]
    assert len(weekly) >= 13
    assert all(row["total"] > 0 for row in weekly[:-1]), [(row["period"], row["total"]) for row in weekly]
    types = {row["type"] for row in selectors.analytics_outcomes(date_range=last_90_days)["by_assessment_type"]}
    assert types == {"MOOD", "PHQ9", "GAD7"}
    for report_type in ("users", "sessions", "subscriptions", "revenue", "themes"):
        rows = selectors.analytics_report(report_type=report_type, group_by="month", date_range=last_90_days)["rows"]
        assert rows, report_type
    csv_text = build_csv(now=timezone.now(), date_range=last_90_days, report=None).decode("utf-8-sig")
    assert f"Revenue (INR),{paid // 100}.{paid % 100:02d}" in csv_text


def test_demo_seed_twice_adds_nothing(development):
    _seed("--demo")
    counts = (User.objects.count(), RoomSession.objects.count(), Payment.objects.count(), Subscription.objects.count())
    output = _seed("--demo")
    assert "already present" in output
    after = (User.objects.count(), RoomSession.objects.count(), Payment.objects.count(), Subscription.objects.count())
    assert after == counts


def test_demo_seed_is_refused_outside_development(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        _seed("--demo")
    assert not User.objects.exists()
    assert RoomSession.objects.count() == Payment.objects.count() == 0
