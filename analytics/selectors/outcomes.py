"""Outcomes: mood before and after sessions, PHQ-9/GAD-7 pairs, sessions per day."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery

from analytics.dates import DateRange
from analytics.models import Assessment, AssessmentPhase, AssessmentType
from analytics.selectors.base import COMPLETED, float_avg, grouped_by_period, rate, round_to, sessions_in


def _outcome_row(kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "count": row["count"],
        "avg_pre_score": round_to(row["avg_pre"], 1),
        "avg_post_score": round_to(row["avg_post"], 1),
        "avg_improvement": round_to(row["avg_improvement"], 2),
        "improvement_rate": rate(row["improved"], row["count"], 1),
    }


def _mood_outcome(date_range: DateRange) -> dict[str, Any]:
    improvement = ExpressionWrapper(F("mood_after") - F("mood_before"), output_field=IntegerField())
    row: dict[str, Any] = (
        sessions_in(date_range)
        .filter(mood_before__isnull=False, mood_after__isnull=False)
        .aggregate(
            count=Count("id"),
            avg_pre=float_avg("mood_before"),
            avg_post=float_avg("mood_after"),
            avg_improvement=float_avg(improvement),
            improved=Count("id", filter=Q(mood_after__gt=F("mood_before"))),
        )
    )
    return row


def assessment_outcomes(date_range: DateRange) -> list[dict[str, Any]]:
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
            avg_pre=float_avg("score"),
            avg_post=float_avg("post_score"),
            avg_improvement=float_avg("improvement"),
            improved=Count("id", filter=Q(improvement__gt=0)),
        )
        .order_by("type")
    )
    by_type = {row["type"]: row for row in rows}
    return [_outcome_row(kind, by_type[kind]) for kind in (AssessmentType.PHQ9, AssessmentType.GAD7) if kind in by_type]


def _daily_sessions(date_range: DateRange) -> list[dict[str, Any]]:
    counts = grouped_by_period(
        sessions_in(date_range),
        "started_at",
        "day",
        started=Count("id"),
        completed=Count("id", filter=COMPLETED),
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


def analytics_outcomes(*, date_range: DateRange) -> dict[str, Any]:
    mood = _mood_outcome(date_range)
    by_assessment_type = ([_outcome_row("MOOD", mood)] if mood["count"] else []) + assessment_outcomes(date_range)
    return {
        "by_assessment_type": by_assessment_type,
        "daily": _daily_sessions(date_range),
        "date_range": date_range.as_dict(),
    }
