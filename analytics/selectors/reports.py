"""Reports grouped by day, week or month (users, sessions, subscriptions, revenue, themes)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q

from analytics.dates import DateRange
from analytics.selectors.base import (
    TRUNCATE,
    alive_users,
    as_date,
    buckets,
    grouped_by_period,
    int_sum,
    paid_in,
    session_metrics,
    session_row,
    sessions_in,
)
from subscriptions.models import Subscription, SubscriptionStatus


def _users_report(date_range: DateRange, group_by: str) -> list[dict[str, Any]]:
    new = grouped_by_period(
        alive_users().filter(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before),
        "created_at",
        group_by,
        count=Count("id"),
    )
    active = grouped_by_period(sessions_in(date_range), "started_at", group_by, count=Count("user", distinct=True))
    return [
        {
            "period": bucket.isoformat(),
            "new_users": new.get(bucket, {}).get("count", 0),
            "active_users": active.get(bucket, {}).get("count", 0),
        }
        for bucket in buckets(date_range, group_by)
    ]


def _sessions_report(date_range: DateRange, group_by: str) -> list[dict[str, Any]]:
    grouped = grouped_by_period(
        sessions_in(date_range),
        "started_at",
        group_by,
        **session_metrics(),
        unique_users=Count("user", distinct=True),
    )
    empty = {"total": 0, "completed": 0, "avg_duration_seconds": 0.0, "avg_rating": 0.0, "unique_users": 0}
    rows = []
    for bucket in buckets(date_range, group_by):
        row = grouped.get(bucket, empty)
        rows.append({"period": bucket.isoformat(), **session_row(row), "unique_users": row["unique_users"]})
    return rows


def _subscriptions_report(date_range: DateRange, group_by: str) -> list[dict[str, Any]]:
    started = grouped_by_period(
        Subscription.objects.filter(start_date__gte=date_range.start_at, start_date__lt=date_range.end_before).exclude(
            status=SubscriptionStatus.PENDING
        ),
        "start_date",
        group_by,
        count=Count("id"),
    )
    cancelled = grouped_by_period(
        Subscription.objects.filter(cancelled_at__gte=date_range.start_at, cancelled_at__lt=date_range.end_before),
        "cancelled_at",
        group_by,
        count=Count("id"),
    )
    return [
        {
            "period": bucket.isoformat(),
            "started": started.get(bucket, {}).get("count", 0),
            "cancelled": cancelled.get(bucket, {}).get("count", 0),
        }
        for bucket in buckets(date_range, group_by)
    ]


def _revenue_report(date_range: DateRange, group_by: str) -> list[dict[str, Any]]:
    grouped = grouped_by_period(
        paid_in(date_range),
        "paid_at",
        group_by,
        revenue=int_sum("amount_paise"),
        orders=Count("id"),
        renewals=Count("id", filter=Q(renewal__isnull=False)),  # charged by an Autopay renewal
    )
    rows = []
    for bucket in buckets(date_range, group_by):
        row = grouped.get(bucket, {"revenue": 0, "orders": 0, "renewals": 0})
        rows.append(
            {
                "period": bucket.isoformat(),
                "revenue": row["revenue"],
                "payments": row["orders"],
                "renewals": row["renewals"],
                "first_purchases": row["orders"] - row["renewals"],
                "avg_order_value": round(row["revenue"] / row["orders"]) if row["orders"] else 0,
            }
        )
    return rows


def _themes_report(date_range: DateRange, group_by: str) -> list[dict[str, Any]]:
    rows = (
        sessions_in(date_range)
        .annotate(bucket=TRUNCATE[group_by]("started_at"))
        .values("bucket", "theme__slug", "theme__title", "theme__category")
        .annotate(**session_metrics())
        .order_by("bucket", F("total").desc(), "theme__title")
    )
    return [
        {
            "period": as_date(row["bucket"]).isoformat(),
            "theme_id": row["theme__slug"],
            "title": row["theme__title"],
            "category": row["theme__category"],
            **session_row(row),
        }
        for row in rows
    ]


_REPORTS = {
    "users": _users_report,
    "sessions": _sessions_report,
    "subscriptions": _subscriptions_report,
    "revenue": _revenue_report,
    "themes": _themes_report,
}
REPORT_TYPES = tuple(_REPORTS)


def analytics_report(*, report_type: str, group_by: str, date_range: DateRange) -> dict[str, Any]:
    """`report_type` and `group_by` are validated by the caller (REPORT_TYPES, GROUP_BY_CHOICES)."""
    return {
        "type": report_type,
        "group_by": group_by,
        "start_date": date_range.start.isoformat(),
        "end_date": date_range.end.isoformat(),
        "rows": _REPORTS[report_type](date_range, group_by),
    }
