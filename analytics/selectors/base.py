"""What every analytics read shares: the row sets (sessions started, payments made, users not deleted in a
range), the aggregates and their rounding, and the time buckets of grouped reports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Expression, FloatField, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek

from accounts.models import User
from analytics.dates import DateRange
from payments.models import Payment, PaymentStatus
from rooms.models import RoomSession, RoomSessionStatus

GROUP_BY_CHOICES = ("day", "week", "month")

COMPLETED = Q(status=RoomSessionStatus.COMPLETED)
TRUNCATE = {"day": TruncDate, "week": TruncWeek, "month": TruncMonth}


def rate(part: int, whole: int, digits: int = 2) -> float:
    return round(part * 100 / whole, digits) if whole else 0.0


def round_to(value: float | Decimal | None, digits: int) -> float:
    return round(float(value or 0), digits)


def float_avg(expression: str | Expression, **extra: Any) -> Coalesce:
    """AVG that answers 0.0 (not NULL) on an empty set."""
    return Coalesce(Avg(expression, output_field=FloatField(), **extra), Value(0.0), output_field=FloatField())


def int_sum(expression: str, **extra: Any) -> Coalesce:
    return Coalesce(Sum(expression, **extra), Value(0), output_field=IntegerField())


def sessions_in(date_range: DateRange) -> QuerySet[RoomSession]:
    return RoomSession.objects.filter(started_at__gte=date_range.start_at, started_at__lt=date_range.end_before)


def paid_in(date_range: DateRange) -> QuerySet[Payment]:
    """Successful payments by the moment they succeeded (creation time if the gateway gave none)."""
    return (
        Payment.objects.filter(status=PaymentStatus.SUCCESS)
        .annotate(paid_at=Coalesce("completed_at", "created_at"))
        .filter(paid_at__gte=date_range.start_at, paid_at__lt=date_range.end_before)
    )


def alive_users() -> QuerySet[User]:
    users: QuerySet[User] = User.objects.filter(deleted_at__isnull=True)  # accounts' manager is not typed yet
    return users


def session_metrics() -> dict[str, Any]:
    """Aggregates shared by the overview, the per-category rows and the reports."""
    return {
        "total": Count("id"),
        "completed": Count("id", filter=COMPLETED),
        "avg_duration_seconds": float_avg("duration_seconds", filter=COMPLETED & Q(duration_seconds__isnull=False)),
        "avg_rating": float_avg("rating"),
    }


def session_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Round one aggregate row of `session_metrics` into the API's units."""
    seconds = row["avg_duration_seconds"] or 0.0
    return {
        "total": row["total"],
        "completed": row["completed"],
        "completion_rate": rate(row["completed"], row["total"]),
        "avg_duration": round_to(seconds / 60, 1),
        "avg_duration_seconds": round(seconds),
        "avg_rating": round_to(row["avg_rating"], 2),
    }


def _bucket_start(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if group_by == "month":
        return day.replace(day=1)
    return day


def buckets(date_range: DateRange, group_by: str) -> list[date]:
    starts: list[date] = []
    for day in date_range.days:
        start = _bucket_start(day, group_by)
        if not starts or starts[-1] != start:
            starts.append(start)
    return starts


def as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def grouped_by_period(
    queryset: QuerySet[Any], field: str, group_by: str, **aggregates: Any
) -> dict[date, dict[str, Any]]:
    """`{period start: aggregates}` for rows of `queryset` grouped by `field` truncated to `group_by`."""
    rows = (
        queryset.annotate(bucket=TRUNCATE[group_by](field)).values("bucket").annotate(**aggregates).order_by("bucket")
    )
    return {as_date(row.pop("bucket")): row for row in rows}
