"""Analytics reads (docs/api.md §8). Every number is computed by the database.

Definitions (docs/analytics.md is the reference):

* A room session belongs to the range when it *started* in it (`started_at` in [start 00:00 UTC, end+1 00:00 UTC)).
* completionRate = completed sessions / sessions x 100, two decimals; 0 when there are no sessions.
* avgDurationSeconds = mean `duration_seconds` of the completed sessions (abandoned or open ones are not a
  measure of a full session); avgDuration = the same in minutes, one decimal.
* activeUsers = distinct users who started at least one room session in the range; uniquePatients = the same
  restricted to role patient.
* revenue = sum of `amount_paise` of successful payments completed in the range (integer paise).
* Outcomes: improvement is "better minus worse" so that a positive number is always an improvement:
  MOOD (1-10, higher is better) = moodAfter - moodBefore; PHQ9/GAD7 (lower is better) = pre - post.
  improvementRate = share of pairs with improvement > 0 x 100, one decimal.

Python only rounds the aggregates, assembles the few grouped rows and fills days without data with zeros.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import (
    Avg,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from analytics.dates import DateRange
from analytics.models import Assessment, AssessmentPhase, AssessmentType
from analytics.recurring import recurring_summary
from payments.models import Payment, PaymentStatus
from rooms.models import RoomSession, RoomSessionStatus
from subscriptions.models import Subscription, SubscriptionStatus

REPORT_TYPES = ("users", "sessions", "subscriptions", "revenue", "themes")
GROUP_BY_CHOICES = ("day", "week", "month")
TOP_THEMES_LIMIT = 5
UNKNOWN_DEVICE = "unknown"

_COMPLETED = Q(status=RoomSessionStatus.COMPLETED)
_TRUNCATE = {"day": TruncDate, "week": TruncWeek, "month": TruncMonth}


# --- small helpers -----------------------------------------------------------------------------------


def _rate(part: int, whole: int, digits: int = 2) -> float:
    return round(part * 100 / whole, digits) if whole else 0.0


def _round(value, digits: int) -> float:
    return round(float(value or 0), digits)


def _float_avg(expression, **extra):
    """AVG that answers 0.0 (not NULL) on an empty set."""
    return Coalesce(Avg(expression, output_field=FloatField(), **extra), Value(0.0), output_field=FloatField())


def _int_sum(expression, **extra):
    return Coalesce(Sum(expression, **extra), Value(0), output_field=IntegerField())


def _sessions_in(date_range: DateRange):
    return RoomSession.objects.filter(started_at__gte=date_range.start_at, started_at__lt=date_range.end_before)


def _paid_in(date_range: DateRange):
    """Successful payments by the moment they succeeded (creation time if the gateway gave none)."""
    return (
        Payment.objects.filter(status=PaymentStatus.SUCCESS)
        .annotate(paid_at=Coalesce("completed_at", "created_at"))
        .filter(paid_at__gte=date_range.start_at, paid_at__lt=date_range.end_before)
    )


def _alive_users():
    return get_user_model().objects.filter(deleted_at__isnull=True)


def _session_metrics():
    """Aggregates shared by the overview, the per-category rows and the reports."""
    return {
        "total": Count("id"),
        "completed": Count("id", filter=_COMPLETED),
        "avg_duration_seconds": _float_avg("duration_seconds", filter=_COMPLETED & Q(duration_seconds__isnull=False)),
        "avg_rating": _float_avg("rating"),
    }


def _session_row(row: dict) -> dict:
    """Round one aggregate row of `_session_metrics` into the API's units."""
    seconds = row["avg_duration_seconds"] or 0.0
    return {
        "total": row["total"],
        "completed": row["completed"],
        "completion_rate": _rate(row["completed"], row["total"]),
        "avg_duration": _round(seconds / 60, 1),
        "avg_duration_seconds": round(seconds),
        "avg_rating": _round(row["avg_rating"], 2),
    }


def _bucket_start(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if group_by == "month":
        return day.replace(day=1)
    return day


def _buckets(date_range: DateRange, group_by: str) -> list[date]:
    buckets: list[date] = []
    for day in date_range.days:
        bucket = _bucket_start(day, group_by)
        if not buckets or buckets[-1] != bucket:
            buckets.append(bucket)
    return buckets


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _grouped(queryset, field: str, group_by: str, **aggregates) -> dict[date, dict]:
    """`{period start: aggregates}` for rows of `queryset` grouped by `field` truncated to `group_by`."""
    rows = (
        queryset.annotate(bucket=_TRUNCATE[group_by](field)).values("bucket").annotate(**aggregates).order_by("bucket")
    )
    return {_as_date(row.pop("bucket")): row for row in rows}


# --- overview ----------------------------------------------------------------------------------------


def _user_counts(date_range: DateRange) -> dict:
    return _alive_users().aggregate(
        total_users=Count("id", filter=Q(created_at__lt=date_range.end_before)),
        new_users=Count("id", filter=Q(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before)),
    )


def _session_summary(date_range: DateRange) -> dict:
    row = _sessions_in(date_range).aggregate(
        **_session_metrics(),
        active_users=Count("user", distinct=True),
        unique_patients=Count("user", distinct=True, filter=Q(user__role="patient")),
    )
    return {**_session_row(row), "active_users": row["active_users"], "unique_patients": row["unique_patients"]}


def _revenue_summary(date_range: DateRange) -> dict:
    row = _paid_in(date_range).aggregate(revenue=_int_sum("amount_paise"), orders=Count("id"))
    return {
        "revenue": row["revenue"],
        "orders": row["orders"],
        "avg_order_value": round(row["revenue"] / row["orders"]) if row["orders"] else 0,
    }


def _subscription_counts(date_range: DateRange) -> dict:
    """Subscriptions started in the range, and those active at its end (or now, if the range reaches today).

    A subscription was active at instant T when it had started by T and its end date (if any) lies after T;
    rows later marked expired still count for past ranges, pending/cancelled/superseded rows never do.
    """
    as_of = min(date_range.end_before, timezone.now())
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


def analytics_overview(*, date_range: DateRange) -> dict:
    sessions = _session_summary(date_range)
    revenue = _revenue_summary(date_range)
    phq9 = next((row for row in _assessment_outcomes(date_range) if row["type"] == AssessmentType.PHQ9), None)
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
        "active_subscriptions": _subscription_counts(date_range)["active_subscriptions"],
        "revenue": revenue["revenue"],
        **recurring_summary(date_range=date_range),
        "currency": "INR",
        "date_range": date_range.as_dict(),
    }


# --- sessions ----------------------------------------------------------------------------------------


def _sessions_by_theme(date_range: DateRange, *, limit: int | None = None) -> list[dict]:
    rows = (
        _sessions_in(date_range)
        .values("theme_id", "theme__slug", "theme__title", "theme__category", "theme__tier")
        .annotate(**_session_metrics())
        .order_by("-total", "theme__title")
    )
    if limit:
        rows = rows[:limit]
    return [
        {
            "theme_id": row["theme__slug"],
            "slug": row["theme__slug"],
            "title": row["theme__title"],
            "category": row["theme__category"],
            "tier": row["theme__tier"],
            **_session_row(row),
        }
        for row in rows
    ]


def analytics_sessions(*, date_range: DateRange) -> dict:
    by_type = (
        _sessions_in(date_range)
        .values(category=F("theme__category"))
        .annotate(**_session_metrics())
        .order_by("-total", "category")
    )
    by_mode = (
        _sessions_in(date_range).values("device_type").annotate(**_session_metrics()).order_by("-total", "device_type")
    )
    return {
        "by_type": [{"category": row["category"], **_session_row(row)} for row in by_type],
        "by_mode": [{"category": row["device_type"] or UNKNOWN_DEVICE, **_session_row(row)} for row in by_mode],
        "by_theme": _sessions_by_theme(date_range),
        "date_range": date_range.as_dict(),
    }


# --- outcomes ----------------------------------------------------------------------------------------


def _outcome_row(kind: str, row: dict) -> dict:
    return {
        "type": kind,
        "count": row["count"],
        "avg_pre_score": _round(row["avg_pre"], 1),
        "avg_post_score": _round(row["avg_post"], 1),
        "avg_improvement": _round(row["avg_improvement"], 2),
        "improvement_rate": _rate(row["improved"], row["count"], 1),
    }


def _mood_outcome(date_range: DateRange) -> dict:
    improvement = ExpressionWrapper(F("mood_after") - F("mood_before"), output_field=IntegerField())
    return (
        _sessions_in(date_range)
        .filter(mood_before__isnull=False, mood_after__isnull=False)
        .aggregate(
            count=Count("id"),
            avg_pre=_float_avg("mood_before"),
            avg_post=_float_avg("mood_after"),
            avg_improvement=_float_avg(improvement),
            improved=Count("id", filter=Q(mood_after__gt=F("mood_before"))),
        )
    )


def _assessment_outcomes(date_range: DateRange) -> list[dict]:
    """Pairs: each `pre` taken in the range with the same user's next `post` of the same type (also in the range)."""
    next_post_score = (
        Assessment.objects.filter(
            user=OuterRef("user"),
            type=OuterRef("type"),
            phase=AssessmentPhase.POST,
            taken_at__gte=OuterRef("taken_at"),
            taken_at__lt=date_range.end_before,
        )
        .order_by("taken_at", "id")
        .values("score")[:1]
    )
    rows = (
        Assessment.objects.filter(
            phase=AssessmentPhase.PRE, taken_at__gte=date_range.start_at, taken_at__lt=date_range.end_before
        )
        .annotate(post_score=Subquery(next_post_score, output_field=IntegerField()))
        .filter(post_score__isnull=False)
        .annotate(improvement=ExpressionWrapper(F("score") - F("post_score"), output_field=IntegerField()))
        .values("type")
        .annotate(
            count=Count("id"),
            avg_pre=_float_avg("score"),
            avg_post=_float_avg("post_score"),
            avg_improvement=_float_avg("improvement"),
            improved=Count("id", filter=Q(improvement__gt=0)),
        )
        .order_by("type")
    )
    by_type = {row["type"]: row for row in rows}
    return [_outcome_row(kind, by_type[kind]) for kind in (AssessmentType.PHQ9, AssessmentType.GAD7) if kind in by_type]


def _daily_sessions(date_range: DateRange) -> list[dict]:
    counts = _grouped(
        _sessions_in(date_range),
        "started_at",
        "day",
        started=Count("id"),
        completed=Count("id", filter=_COMPLETED),
    )
    empty = {"started": 0, "completed": 0}
    return [
        {
            "date": day.isoformat(),
            "sessions_started": counts.get(day, empty)["started"],
            "sessions_completed": counts.get(day, empty)["completed"],
        }
        for day in date_range.days
    ]


def analytics_outcomes(*, date_range: DateRange) -> dict:
    mood = _mood_outcome(date_range)
    by_assessment_type = ([_outcome_row("MOOD", mood)] if mood["count"] else []) + _assessment_outcomes(date_range)
    return {
        "by_assessment_type": by_assessment_type,
        "daily": _daily_sessions(date_range),
        "date_range": date_range.as_dict(),
    }


# --- dashboard ---------------------------------------------------------------------------------------


def _daily_trend(date_range: DateRange) -> list[dict]:
    users = _grouped(
        _alive_users().filter(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before),
        "created_at",
        "day",
        count=Count("id"),
    )
    sessions = _grouped(_sessions_in(date_range), "started_at", "day", count=Count("id"))
    revenue = _grouped(_paid_in(date_range), "paid_at", "day", amount=_int_sum("amount_paise"))
    return [
        {
            "date": day.isoformat(),
            "users": users.get(day, {}).get("count", 0),
            "sessions": sessions.get(day, {}).get("count", 0),
            "revenue": revenue.get(day, {}).get("amount", 0),
        }
        for day in date_range.days
    ]


def analytics_dashboard(*, date_range: DateRange) -> dict:
    sessions = _session_summary(date_range)
    revenue = _revenue_summary(date_range)
    users = _user_counts(date_range)
    subscriptions = _subscription_counts(date_range)
    top_themes = [
        {key: row[key] for key in ("theme_id", "slug", "title", "category", "tier", "completed", "avg_rating")}
        | {"sessions": row["total"]}
        for row in _sessions_by_theme(date_range, limit=TOP_THEMES_LIMIT)
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


# --- reports -----------------------------------------------------------------------------------------


def _users_report(date_range: DateRange, group_by: str) -> list[dict]:
    new = _grouped(
        _alive_users().filter(created_at__gte=date_range.start_at, created_at__lt=date_range.end_before),
        "created_at",
        group_by,
        count=Count("id"),
    )
    active = _grouped(_sessions_in(date_range), "started_at", group_by, count=Count("user", distinct=True))
    return [
        {
            "period": bucket.isoformat(),
            "new_users": new.get(bucket, {}).get("count", 0),
            "active_users": active.get(bucket, {}).get("count", 0),
        }
        for bucket in _buckets(date_range, group_by)
    ]


def _sessions_report(date_range: DateRange, group_by: str) -> list[dict]:
    grouped = _grouped(
        _sessions_in(date_range),
        "started_at",
        group_by,
        **_session_metrics(),
        unique_users=Count("user", distinct=True),
    )
    empty = {"total": 0, "completed": 0, "avg_duration_seconds": 0.0, "avg_rating": 0.0, "unique_users": 0}
    rows = []
    for bucket in _buckets(date_range, group_by):
        row = grouped.get(bucket, empty)
        rows.append({"period": bucket.isoformat(), **_session_row(row), "unique_users": row["unique_users"]})
    return rows


def _subscriptions_report(date_range: DateRange, group_by: str) -> list[dict]:
    started = _grouped(
        Subscription.objects.filter(start_date__gte=date_range.start_at, start_date__lt=date_range.end_before).exclude(
            status=SubscriptionStatus.PENDING
        ),
        "start_date",
        group_by,
        count=Count("id"),
    )
    cancelled = _grouped(
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
        for bucket in _buckets(date_range, group_by)
    ]


def _revenue_report(date_range: DateRange, group_by: str) -> list[dict]:
    grouped = _grouped(
        _paid_in(date_range),
        "paid_at",
        group_by,
        revenue=_int_sum("amount_paise"),
        orders=Count("id"),
        renewals=Count("id", filter=Q(renewal__isnull=False)),
    )
    rows = []
    for bucket in _buckets(date_range, group_by):
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


def _themes_report(date_range: DateRange, group_by: str) -> list[dict]:
    rows = (
        _sessions_in(date_range)
        .annotate(bucket=_TRUNCATE[group_by]("started_at"))
        .values("bucket", "theme__slug", "theme__title", "theme__category")
        .annotate(**_session_metrics())
        .order_by("bucket", "-total", "theme__title")
    )
    return [
        {
            "period": _as_date(row["bucket"]).isoformat(),
            "theme_id": row["theme__slug"],
            "title": row["theme__title"],
            "category": row["theme__category"],
            **_session_row(row),
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


def analytics_report(*, report_type: str, group_by: str, date_range: DateRange) -> dict:
    """`report_type` and `group_by` are validated by the caller (REPORT_TYPES, GROUP_BY_CHOICES)."""
    return {
        "type": report_type,
        "group_by": group_by,
        "start_date": date_range.start.isoformat(),
        "end_date": date_range.end.isoformat(),
        "rows": _REPORTS[report_type](date_range, group_by),
    }
