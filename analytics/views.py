"""Analytics API (docs/api.md §8): admins with completed MFA whose role holds `view_analytics`."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission, IsAdminWithMfa
from analytics import exports, selectors
from analytics.errors import UnknownReportType
from analytics.serializers import (
    AssessmentCreateSerializer,
    AssessmentSerializer,
    DashboardOutput,
    DateRangeQuery,
    ExportQuery,
    OutcomesOutput,
    OverviewOutput,
    ReportOutput,
    ReportQuery,
    SessionsOutput,
)
from analytics.services import assessment_record
from manas360.api.clock import request_now
from manas360.api.input import validated_body, validated_query
from manas360.api.pagination import paginated_response

# The documented parameters (types and enums for the schema); the query serializers validate them. The snake_case
# spellings older clients send (`start_date`) are read the same, but the schema does not advertise them.
RANGE_PARAMETERS = [
    OpenApiParameter("startDate", OpenApiTypes.DATE, description="First day, YYYY-MM-DD (UTC), inclusive."),
    OpenApiParameter("endDate", OpenApiTypes.DATE, description="Last day, YYYY-MM-DD (UTC), inclusive."),
    OpenApiParameter("period", str, enum=["7d", "30d", "90d", "1y"], description="Last N days; default 30d."),
]
GROUP_BY_PARAMETER = OpenApiParameter("groupBy", str, enum=list(selectors.GROUP_BY_CHOICES), description="day")
ANALYTICS_ERRORS = "400 invalid_date_range; 401; 403 permission_denied or admin_mfa_required."


class AnalyticsView(APIView):
    permission_classes = [IsAdminWithMfa, HasPermission("view_analytics")]


class OverviewView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=OverviewOutput,
        description="totalUsers, newUsers, activeUsers, totalSessions, completedSessions, completionRate, "
        "avgDuration (minutes), avgDurationSeconds, uniquePatients, avgRating, avgPhq9Improvement, "
        f"activeSubscriptions, revenue (paise), dateRange. {ANALYTICS_ERRORS}",
    )
    def get(self, request):
        now = request_now(request)
        overview = selectors.analytics_overview(**validated_query(DateRangeQuery, request, now=now), now=now)
        return Response(OverviewOutput(overview).data)


class SessionsView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=SessionsOutput,
        description="byType[] (theme category), byMode[] (device type), byTheme[]; arrays are always present. "
        + ANALYTICS_ERRORS,
    )
    def get(self, request):
        return Response(
            SessionsOutput(
                selectors.analytics_sessions(**validated_query(DateRangeQuery, request, now=request_now(request)))
            ).data
        )


class OutcomesView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=OutcomesOutput,
        description="byAssessmentType[] {type: MOOD|PHQ9|GAD7, count, avgPreScore, avgPostScore, avgImprovement, "
        "improvementRate}, daily[] {date, sessionsStarted, sessionsCompleted}. " + ANALYTICS_ERRORS,
    )
    def get(self, request):
        return Response(
            OutcomesOutput(
                selectors.analytics_outcomes(**validated_query(DateRangeQuery, request, now=request_now(request)))
            ).data
        )


class DashboardView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=DashboardOutput,
        description="period, summary {totalUsers, newUsers, activeUsers, totalSessions, avgSessionDuration, "
        "totalSubscriptions, activeSubscriptions, revenue, avgOrderValue}, daily[] {date, users, sessions, revenue}, "
        "topThemes[]. Also served at GET /admin/analytics/dashboard. " + ANALYTICS_ERRORS,
    )
    def get(self, request):
        now = request_now(request)
        dashboard = selectors.analytics_dashboard(**validated_query(DateRangeQuery, request, now=now), now=now)
        return Response(DashboardOutput(dashboard).data)


class ReportView(AnalyticsView):
    @extend_schema(
        parameters=[*RANGE_PARAMETERS, GROUP_BY_PARAMETER],
        responses=ReportOutput,
        description="type users|sessions|subscriptions|revenue|themes (else 404). data {type, groupBy, startDate, "
        "endDate, rows: [{period, ...}]}; `period` is the first day of the day/ISO week/month. " + ANALYTICS_ERRORS,
    )
    def get(self, request, report_type: str):
        if report_type not in selectors.REPORT_TYPES:
            raise UnknownReportType(f"Unknown report type. Use one of: {', '.join(selectors.REPORT_TYPES)}.")
        report = selectors.analytics_report(
            report_type=report_type, **validated_query(ReportQuery, request, now=request_now(request))
        )
        return Response(ReportOutput(report).data)


class _FirstRendererNegotiation(BaseContentNegotiation):
    """Errors of the file views are always JSON; `?format=` names the file type here, not a renderer."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class ExportView(AnalyticsView):
    """Answers a file (HttpResponse, bypassing the JSON renderer); errors still leave as the JSON envelope.

    Cookie authentication works (the admin UI opens these with `window.open`); GETs are not CSRF-checked.
    """

    content_negotiation_class = _FirstRendererNegotiation
    fixed_format: str | None = None

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            GROUP_BY_PARAMETER,
            OpenApiParameter("format", str, enum=["csv", "xlsx", "pdf"], description="GET /analytics/export only."),
            OpenApiParameter(
                "type",
                str,
                enum=["overview", *selectors.REPORT_TYPES],
                description="overview (default) or a report type: the CSV's table; an extra sheet in the workbook.",
            ),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description="File download, `Content-Disposition: attachment; filename=MANAS360_Analytics_<start>_<end>.<ext>`."
        " 400 validation_error for an unknown format or type. " + ANALYTICS_ERRORS,
    )
    def get(self, request):
        now = request_now(request)
        export = validated_query(ExportQuery, request, fixed_format=self.fixed_format, now=now)
        date_range, file_format = export["date_range"], export["file_format"]
        response = HttpResponse(exports.export_file(**export, now=now), content_type=exports.CONTENT_TYPES[file_format])
        response["Content-Disposition"] = f"attachment; filename={exports.export_filename(date_range, file_format)}"
        response["Cache-Control"] = "no-store"
        return response


class ExcelExportView(ExportView):
    fixed_format = "xlsx"


class PdfExportView(ExportView):
    fixed_format = "pdf"


class AssessmentView(APIView):
    """A signed-in user records and lists their own PHQ-9 / GAD-7 scores."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=AssessmentCreateSerializer,
        responses={201: AssessmentSerializer},
        description="Record one score: type PHQ9 (0-27) or GAD7 (0-21), phase pre|post, score, takenAt (optional, "
        "default now, not in the future). 400 validation_error on a score outside the type's range.",
    )
    def post(self, request):
        now = request_now(request)
        assessment = assessment_record(
            user=request.user, now=now, **validated_body(AssessmentCreateSerializer, request, now=now)
        )
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AssessmentSerializer(many=True))
    def get(self, request):
        return paginated_response(request, request.user.assessments.order_by("-taken_at", "-id"), AssessmentSerializer)
