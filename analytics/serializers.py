from datetime import UTC
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.dates import parse_date_range
from analytics.models import SCORE_MAXIMUM, Assessment, AssessmentPhase, AssessmentType
from analytics.selectors import GROUP_BY_CHOICES, REPORT_TYPES
from manas360.api.errors import ValidationFailed

# Accept the spellings people write: "PHQ-9", "phq9", "GAD-7".
_TYPE_ALIASES = {"PHQ9": AssessmentType.PHQ9, "GAD7": AssessmentType.GAD7}
# A clock a little ahead on the client is not an error.
FUTURE_TOLERANCE_SECONDS = 300
EXPORT_FORMATS = ("csv", "xlsx", "pdf")
EXPORT_TYPES = ("overview", *REPORT_TYPES)


class AssessmentCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=10)
    phase = serializers.ChoiceField(choices=AssessmentPhase.choices)
    score = serializers.IntegerField(min_value=0)
    taken_at = serializers.DateTimeField(required=False)

    def validate_type(self, value):
        normalised = value.upper().replace("-", "").replace("_", "").replace(" ", "")
        if normalised not in _TYPE_ALIASES:
            raise serializers.ValidationError("Must be PHQ9 or GAD7.")
        return _TYPE_ALIASES[normalised]

    def validate_taken_at(self, value):
        if (value - self.context["now"]).total_seconds() > FUTURE_TOLERANCE_SECONDS:
            raise serializers.ValidationError("Must not be in the future.")
        return value

    def validate(self, attrs):
        maximum = SCORE_MAXIMUM[attrs["type"]]
        if attrs["score"] > maximum:
            raise serializers.ValidationError({"score": [f"A {attrs['type']} score is between 0 and {maximum}."]})
        return attrs


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = ["id", "type", "phase", "score", "taken_at", "created_at"]
        read_only_fields = fields


# --- query parameters ------------------------------------------------------------------------------------------
# Read with `manas360.api.input.validated_query`: camelCase parameters (`startDate`) arrive snake_case
# (`start_date`), and the snake_case spellings older clients send arrive unchanged. Values are kept as sent (no
# trimming here: the date parser decides what a blank or padded value means). Each `validate()` checks in the order the
# endpoints always have, so a request with several mistakes gets the same first error as before, and answers
# with the domain's own codes (`invalid_date_range`) where the contract names one. Unknown parameters are ignored.


def _query_text(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, help_text=help_text)


class DateRangeQuery(serializers.Serializer):
    """`startDate`/`endDate`/`period` -> `{"date_range": DateRange}` (400 invalid_date_range otherwise)."""

    start_date = _query_text("First day, YYYY-MM-DD (UTC), inclusive.")
    end_date = _query_text("Last day, YYYY-MM-DD (UTC), inclusive.")
    period = _query_text("Last N days (7d, 30d, 90d, 1y); default 30d.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The view passes its request's `now` (context "now"): "the last 30 days" end on that day (UTC).
        return {"date_range": parse_date_range(attrs, today=self.context["now"].astimezone(UTC).date())}


def _group_by(attrs: dict[str, Any]) -> str:
    group_by = attrs.get("group_by") or "day"
    if group_by not in GROUP_BY_CHOICES:
        raise ValidationFailed(
            "groupBy must be one of day, week, month.", errors={"group_by": ["Must be one of day, week, month."]}
        )
    return group_by


class ReportQuery(DateRangeQuery):
    """The date range and `groupBy` (day, week or month; default day)."""

    group_by = _query_text("day (default), week or month.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**super().validate(attrs), "group_by": _group_by(attrs)}


class ExportQuery(ReportQuery):
    """The date range, `format` (csv, xlsx, pdf; unless the URL fixes it, context `fixed_format`) and `type`
    (overview or a report type); `groupBy` is read only for a report type."""

    format = _query_text("csv (default), xlsx or pdf: GET /analytics/export only.")
    type = _query_text("overview (default) or a report type.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_range = DateRangeQuery.validate(self, attrs)["date_range"]
        file_format = self.context.get("fixed_format") or (attrs.get("format") or "csv").lower()
        if file_format not in EXPORT_FORMATS:
            raise ValidationFailed("format must be one of csv, xlsx, pdf.", errors={"format": ["Unknown format."]})
        export_type = (attrs.get("type") or "overview").lower()
        if export_type not in EXPORT_TYPES:
            raise ValidationFailed(
                f"type must be one of {', '.join(EXPORT_TYPES)}.", errors={"type": ["Unknown export type."]}
            )
        return {
            "date_range": date_range,
            "file_format": file_format,
            "report_type": None if export_type == "overview" else export_type,
            "group_by": None if export_type == "overview" else _group_by(attrs),
        }


# --- output ----------------------------------------------------------------------------------------------------
# The shapes the selectors answer, declared field by field. The selectors compute every number (rounded, in the
# API's units); these fields pass each value through unchanged (so the JSON is exactly the selector's) and give
# OpenAPI its types. A key a selector adds without a field here is not answered, and
# `analytics/tests/test_output.py` fails until the field is declared.


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


# Field groups several shapes share. A shape lists its groups as bases in the order its keys are answered
# (DRF puts the bases' fields first, base by base, then the shape's own).


class _Totals(serializers.Serializer):
    """Users and sessions in the range: the overview's and the dashboard summary's first figures."""

    total_users = _Int()
    new_users = _Int()
    active_users = _Int()
    total_sessions = _Int()
    completed_sessions = _Int()
    completion_rate = _Number()


class _SessionFigures(serializers.Serializer):
    """How a group of sessions went."""

    total = _Int()
    completed = _Int()
    completion_rate = _Number()
    avg_duration = _Number()
    avg_duration_seconds = _Int()
    avg_rating = _Number()


class _Theme(serializers.Serializer):
    theme_id = _Text()
    slug = _Text()
    title = _Text()
    category = _Text()
    tier = _Text()


class _Category(serializers.Serializer):
    category = _Text()


class _Period(serializers.Serializer):
    """A report row's bucket: its first day."""

    period = _Day()


class OverviewOutput(_Totals):
    avg_duration = _Number(help_text="Minutes, one decimal.")
    avg_duration_seconds = _Int()
    unique_patients = _Int()
    avg_rating = _Number()
    avg_phq9_improvement = _Number()
    active_subscriptions = _Int()
    revenue = _Int(help_text="Paise.")
    renewals = _Int(help_text="Payments charged by an Autopay renewal.")
    renewal_revenue = _Int(help_text="Paise charged by Autopay renewals.")
    first_purchases = _Int(help_text="Every other successful payment (a mandate's setup charge included).")
    mrr = _Int(help_text="Paise per month that the mandates which will renew bring.")
    mandates_at_start = _Int()
    mandates_churned = _Int()
    mandate_churn_rate = _Number(help_text="Percent of the mandates live at the start that ended in the range.")
    currency = _Text()
    date_range = DateRangeOutput()


class SessionGroupOutput(_Category, _SessionFigures):
    """`category` is the theme's category (byType) or the device type (byMode)."""


class ThemeSessionsOutput(_Theme, _SessionFigures):
    pass


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


class DashboardSummaryOutput(_Totals):
    avg_session_duration = _Number(help_text="Minutes, one decimal.")
    avg_session_duration_seconds = _Int()
    total_subscriptions = _Int()
    active_subscriptions = _Int()
    revenue = _Int(help_text="Paise.")
    payments = _Int()
    renewals = _Int(help_text="Of those, charged by an Autopay renewal.")
    first_purchases = _Int()
    avg_order_value = _Int(help_text="Paise.")
    currency = _Text()


class DailyTrendOutput(serializers.Serializer):
    date = _Day()
    users = _Int()
    sessions = _Int()
    revenue = _Int(help_text="Paise.")


class TopThemeOutput(_Theme):
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


class UsersReportRow(_Period):
    new_users = _Int()
    active_users = _Int()


class SessionsReportRow(_Period, _SessionFigures):
    unique_users = _Int()


class SubscriptionsReportRow(_Period):
    started = _Int()
    cancelled = _Int()


class RevenueReportRow(_Period):
    revenue = _Int(help_text="Paise.")
    payments = _Int()
    renewals = _Int(help_text="Of those, charged by an Autopay renewal.")
    first_purchases = _Int()
    avg_order_value = _Int(help_text="Paise.")


class _ThemeRow(serializers.Serializer):
    theme_id = _Text()
    title = _Text()
    category = _Text()


class ThemesReportRow(_Period, _ThemeRow, _SessionFigures):
    pass


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
