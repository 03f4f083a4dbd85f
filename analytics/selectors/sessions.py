"""Themed-room sessions by category, theme and device."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from analytics.dates import DateRange
from analytics.selectors.base import session_metrics, session_row, sessions_in

UNKNOWN_DEVICE = "unknown"


def sessions_by_theme(date_range: DateRange, *, limit: int | None = None) -> list[dict[str, Any]]:
    rows = (
        sessions_in(date_range)
        .values("theme_id", "theme__slug", "theme__title", "theme__category", "theme__tier")
        .annotate(**session_metrics())
        .order_by(F("total").desc(), "theme__title")
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
            **session_row(row),
        }
        for row in rows
    ]


def analytics_sessions(*, date_range: DateRange) -> dict[str, Any]:
    by_type = (
        sessions_in(date_range)
        .values(category=F("theme__category"))
        .annotate(**session_metrics())
        .order_by(F("total").desc(), "category")
    )
    by_mode = (
        sessions_in(date_range)
        .values("device_type")
        .annotate(**session_metrics())
        .order_by(F("total").desc(), "device_type")
    )
    return {
        "by_type": [{"category": row["category"], **session_row(row)} for row in by_type],
        "by_mode": [{"category": row["device_type"] or UNKNOWN_DEVICE, **session_row(row)} for row in by_mode],
        "by_theme": sessions_by_theme(date_range),
        "date_range": date_range.as_dict(),
    }
