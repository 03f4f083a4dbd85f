"""Output serializers of the analytics API: the shapes the selectors answer, declared field by field.

The selectors compute every number (rounded, in the API's units); these fields pass each value through unchanged
(so the JSON is exactly the selector's) and give OpenAPI its types. A key a selector adds without a field here
is not answered, and `analytics/tests/test_output.py` fails until the field is declared.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class _Int(serializers.ReadOnlyField):
    """A count or an amount in integer paise."""


@extend_schema_field(OpenApiTypes.NUMBER)
class _Number(serializers.ReadOnlyField):
    """A rounded figure (rates in %, averages)."""


@extend_schema_field(OpenApiTypes.STR)
class _Text(serializers.ReadOnlyField):
    pass


@extend_schema_field(OpenApiTypes.DATE)
class _Day(serializers.ReadOnlyField):
    """YYYY-MM-DD (UTC)."""


class DateRangeOutput(serializers.Serializer):
    start_date = _Day()
    end_date = _Day()


class OverviewOutput(serializers.Serializer):
    total_users = _Int()
    new_users = _Int()
    active_users = _Int()
    total_sessions = _Int()
    completed_sessions = _Int()
    completion_rate = _Number()
    avg_duration = _Number(help_text="Minutes, one decimal.")
    avg_duration_seconds = _Int()
    unique_patients = _Int()
    avg_rating = _Number()
    avg_phq9_improvement = _Number()
    active_subscriptions = _Int()
    revenue = _Int(help_text="Paise.")
    currency = _Text()
    date_range = DateRangeOutput()


class SessionGroupOutput(serializers.Serializer):
    """`category` is the theme's category (byType) or the device type (byMode)."""

    category = _Text()
    total = _Int()
    completed = _Int()
    completion_rate = _Number()
    avg_duration = _Number()
    avg_duration_seconds = _Int()
    avg_rating = _Number()


class ThemeSessionsOutput(serializers.Serializer):
    theme_id = _Text()
    slug = _Text()
    title = _Text()
    category = _Text()
    tier = _Text()
    total = _Int()
    completed = _Int()
    completion_rate = _Number()
    avg_duration = _Number()
    avg_duration_seconds = _Int()
    avg_rating = _Number()


class SessionsOutput(serializers.Serializer):
    by_type = SessionGroupOutput(many=True)
    by_mode = SessionGroupOutput(many=True)
    by_theme = ThemeSessionsOutput(many=True)
    date_range = DateRangeOutput()


class AssessmentOutcomeOutput(serializers.Serializer):
    type = _Text()
    count = _Int()
    avg_pre_score = _Number()
    avg_post_score = _Number()
    avg_improvement = _Number()
    improvement_rate = _Number()


class DailySessionsOutput(serializers.Serializer):
    date = _Day()
    sessions_started = _Int()
    sessions_completed = _Int()


class OutcomesOutput(serializers.Serializer):
    by_assessment_type = AssessmentOutcomeOutput(many=True)
    daily = DailySessionsOutput(many=True)
    date_range = DateRangeOutput()


class DashboardSummaryOutput(serializers.Serializer):
    total_users = _Int()
    new_users = _Int()
    active_users = _Int()
    total_sessions = _Int()
    completed_sessions = _Int()
    completion_rate = _Number()
    avg_session_duration = _Number(help_text="Minutes, one decimal.")
    avg_session_duration_seconds = _Int()
    total_subscriptions = _Int()
    active_subscriptions = _Int()
    revenue = _Int(help_text="Paise.")
    payments = _Int()
    avg_order_value = _Int(help_text="Paise.")
    currency = _Text()


class DailyTrendOutput(serializers.Serializer):
    date = _Day()
    users = _Int()
    sessions = _Int()
    revenue = _Int(help_text="Paise.")


class TopThemeOutput(serializers.Serializer):
    theme_id = _Text()
    slug = _Text()
    title = _Text()
    category = _Text()
    tier = _Text()
    completed = _Int()
    avg_rating = _Number()
    sessions = _Int()


class DashboardOutput(serializers.Serializer):
    period = _Text()
    date_range = DateRangeOutput()
    summary = DashboardSummaryOutput()
    daily = DailyTrendOutput(many=True)
    top_themes = TopThemeOutput(many=True)


# --- Reports: one row shape per report type ----------------------------------------------------------------


class UsersReportRow(serializers.Serializer):
    period = _Day()
    new_users = _Int()
    active_users = _Int()


class SessionsReportRow(serializers.Serializer):
    period = _Day()
    total = _Int()
    completed = _Int()
    completion_rate = _Number()
    avg_duration = _Number()
    avg_duration_seconds = _Int()
    avg_rating = _Number()
    unique_users = _Int()


class SubscriptionsReportRow(serializers.Serializer):
    period = _Day()
    started = _Int()
    cancelled = _Int()


class RevenueReportRow(serializers.Serializer):
    period = _Day()
    revenue = _Int(help_text="Paise.")
    payments = _Int()
    avg_order_value = _Int(help_text="Paise.")


class ThemesReportRow(serializers.Serializer):
    period = _Day()
    theme_id = _Text()
    title = _Text()
    category = _Text()
    total = _Int()
    completed = _Int()
    completion_rate = _Number()
    avg_duration = _Number()
    avg_duration_seconds = _Int()
    avg_rating = _Number()


REPORT_ROWS: dict[str, type[serializers.Serializer]] = {
    "users": UsersReportRow,
    "sessions": SessionsReportRow,
    "subscriptions": SubscriptionsReportRow,
    "revenue": RevenueReportRow,
    "themes": ThemesReportRow,
}


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "object", "description": "period (first day of the bucket) and the type's figures"},
    }
)
class _ReportRows(serializers.Field):
    """The rows of the report, in the row shape of its type (the parent's `type`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: dict[str, Any]) -> list[Any]:
        return list(REPORT_ROWS[value["type"]](value["rows"], many=True).data)


class ReportOutput(serializers.Serializer):
    type = _Text()
    group_by = _Text()
    start_date = _Day()
    end_date = _Day()
    rows = _ReportRows()
