"""The headline numbers: the overview and the dashboard (totals, daily trend, top themes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from analytics.dates import DateRange
from analytics.models import AssessmentType
from analytics.selectors.base import (
    alive_users,
    grouped_by_period,
    int_sum,
    paid_in,
    session_metrics,
    session_row,
    sessions_in,
)
from analytics.selectors.outcomes import assessment_outcomes
from analytics.selectors.recurring import recurring_summary
from analytics.selectors.sessions import sessions_by_theme
from subscriptions.models import Subscription, SubscriptionStatus

TOP_THEMES_LIMIT = 5


def _user_counts(date_range: DateRange) -> dict[str, Any]:
    counts: dict[str, Any] = alive_users().aggregate(
        total_users=Count("id", filter=Q(created_at__lt=date_range.end_before)),
        new_users=Count("id", filter=Q(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before)),
    )
    return counts


def _session_summary(date_range: DateRange) -> dict[str, Any]:
    row = sessions_in(date_range).aggregate(
        **session_metrics(),
        active_users=Count("user", distinct=True),
        unique_patients=Count("user", distinct=True, filter=Q(user__role="patient")),
    )
    return {**session_row(row), "active_users": row["active_users"], "unique_patients": row["unique_patients"]}


def _revenue_summary(date_range: DateRange) -> dict[str, Any]:
    row = paid_in(date_range).aggregate(revenue=int_sum("amount_paise"), orders=Count("id"))
    return {
        "revenue": row["revenue"],
        "orders": row["orders"],
        "avg_order_value": round(row["revenue"] / row["orders"]) if row["orders"] else 0,
    }


def _subscription_counts(date_range: DateRange, now: datetime) -> dict[str, Any]:
    """Subscriptions started in the range, and those active at its end (or now, if the range reaches today).

    A subscription was active at instant T when it had started by T and its end date (if any) lies after T;
    rows later marked expired still count for past ranges, pending/cancelled/superseded rows never do.
    """
    as_of = min(date_range.end_before, now)
    return Subscription.objects.aggregate(
        total_subscriptions=Count(
            "id",
            filter=Q(start_date__gte=date_range.start_at, start_date__lt=date_range.end_before)
            & ~Q(status=SubscriptionStatus.PENDING),
        ),
        active_subscriptions=Count(
            "id",
            filter=Q(status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.EXPIRED])
            & Q(start_date__lte=as_of)
            & (Q(end_date__isnull=True) | Q(end_date__gt=as_of)),
        ),
    )


def analytics_overview(*, date_range: DateRange, now: datetime) -> dict[str, Any]:
    sessions = _session_summary(date_range)
    revenue = _revenue_summary(date_range)
    phq9 = next((row for row in assessment_outcomes(date_range) if row["type"] == AssessmentType.PHQ9), None)
    return {
        **_user_counts(date_range),
        "active_users": sessions["active_users"],
        "total_sessions": sessions["total"],
        "completed_sessions": sessions["completed"],
        "completion_rate": sessions["completion_rate"],
        "avg_duration": sessions["avg_duration"],
        "avg_duration_seconds": sessions["avg_duration_seconds"],
        "unique_patients": sessions["unique_patients"],
        "avg_rating": sessions["avg_rating"],
        "avg_phq9_improvement": phq9["avg_improvement"] if phq9 else 0.0,
        "active_subscriptions": _subscription_counts(date_range, now)["active_subscriptions"],
        "revenue": revenue["revenue"],
        **recurring_summary(date_range=date_range),
        "currency": "INR",
        "date_range": date_range.as_dict(),
    }


def _daily_trend(date_range: DateRange) -> list[dict[str, Any]]:
    users = grouped_by_period(
        alive_users().filter(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before),
        "created_at",
        "day",
        count=Count("id"),
    )
    sessions = grouped_by_period(sessions_in(date_range), "started_at", "day", count=Count("id"))
    revenue = grouped_by_period(paid_in(date_range), "paid_at", "day", amount=int_sum("amount_paise"))
    return [
        {
            "date": day.isoformat(),
            "users": users.get(day, {}).get("count", 0),
            "sessions": sessions.get(day, {}).get("count", 0),
            "revenue": revenue.get(day, {}).get("amount", 0),
        }
        for day in date_range.days
    ]


def analytics_dashboard(*, date_range: DateRange, now: datetime) -> dict[str, Any]:
    sessions = _session_summary(date_range)
    revenue = _revenue_summary(date_range)
    users = _user_counts(date_range)
    subscriptions = _subscription_counts(date_range, now)
    top_themes = [
        {key: row[key] for key in ("theme_id", "slug", "title", "category", "tier", "completed", "avg_rating")}
        | {"sessions": row["total"]}
        for row in sessions_by_theme(date_range, limit=TOP_THEMES_LIMIT)
    ]
    return {
        "period": date_range.period,
        "date_range": date_range.as_dict(),
        "summary": {
            "total_users": users["total_users"],
            "new_users": users["new_users"],
            "active_users": sessions["active_users"],
            "total_sessions": sessions["total"],
            "completed_sessions": sessions["completed"],
            "completion_rate": sessions["completion_rate"],
            "avg_session_duration": sessions["avg_duration"],
            "avg_session_duration_seconds": sessions["avg_duration_seconds"],
            "total_subscriptions": subscriptions["total_subscriptions"],
            "active_subscriptions": subscriptions["active_subscriptions"],
            "revenue": revenue["revenue"],
            "payments": revenue["orders"],
            "avg_order_value": revenue["avg_order_value"],
            "currency": "INR",
        },
        "daily": _daily_trend(date_range),
        "top_themes": top_themes,
    }
