"""Analytics API (docs/api.md §8): admins with completed MFA whose role holds `view_analytics`."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission, IsAdminWithMfa
from analytics import exports, selectors
from analytics.dates import parse_date_range
from analytics.errors import UnknownReportType
from analytics.serializers import AssessmentCreateSerializer, AssessmentSerializer
from analytics.services import assessment_record
from manas360.api.errors import ValidationFailed
from manas360.api.pagination import PageLimitPagination

RANGE_PARAMETERS = [
    OpenApiParameter("startDate", OpenApiTypes.DATE, description="First day, YYYY-MM-DD (UTC), inclusive."),
    OpenApiParameter("endDate", OpenApiTypes.DATE, description="Last day, YYYY-MM-DD (UTC), inclusive."),
    OpenApiParameter("period", str, enum=["7d", "30d", "90d", "1y"], description="Last N days; default 30d."),
]
GROUP_BY_PARAMETER = OpenApiParameter("groupBy", str, enum=list(selectors.GROUP_BY_CHOICES), description="day")
ANALYTICS_ERRORS = "400 invalid_date_range; 401; 403 permission_denied or admin_mfa_required."


class AnalyticsView(APIView):
    permission_classes = [IsAdminWithMfa, HasPermission("view_analytics")]

    def date_range(self):
        return parse_date_range(self.request.query_params)


def _group_by(request) -> str:
    group_by = request.query_params.get("groupBy") or request.query_params.get("group_by") or "day"
    if group_by not in selectors.GROUP_BY_CHOICES:
        raise ValidationFailed(
            "groupBy must be one of day, week, month.", errors={"group_by": ["Must be one of day, week, month."]}
        )
    return group_by


def _data_schema(name: str):
    return inline_serializer(name=name, fields={"success": serializers.BooleanField(), "data": serializers.DictField()})


class OverviewView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=_data_schema("AnalyticsOverview"),
        description="totalUsers, newUsers, activeUsers, totalSessions, completedSessions, completionRate, "
        "avgDuration (minutes), avgDurationSeconds, uniquePatients, avgRating, avgPhq9Improvement, "
        f"activeSubscriptions, revenue (paise), dateRange. {ANALYTICS_ERRORS}",
    )
    def get(self, request):
        return Response(selectors.analytics_overview(date_range=self.date_range()))


class SessionsView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=_data_schema("AnalyticsSessions"),
        description="byType[] (theme category), byMode[] (device type), byTheme[]; arrays are always present. "
        + ANALYTICS_ERRORS,
    )
    def get(self, request):
        return Response(selectors.analytics_sessions(date_range=self.date_range()))


class OutcomesView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=_data_schema("AnalyticsOutcomes"),
        description="byAssessmentType[] {type: MOOD|PHQ9|GAD7, count, avgPreScore, avgPostScore, avgImprovement, "
        "improvementRate}, daily[] {date, sessionsStarted, sessionsCompleted}. " + ANALYTICS_ERRORS,
    )
    def get(self, request):
        return Response(selectors.analytics_outcomes(date_range=self.date_range()))


class DashboardView(AnalyticsView):
    @extend_schema(
        parameters=RANGE_PARAMETERS,
        responses=_data_schema("AnalyticsDashboard"),
        description="period, summary {totalUsers, newUsers, activeUsers, totalSessions, avgSessionDuration, "
        "totalSubscriptions, activeSubscriptions, revenue, avgOrderValue}, daily[] {date, users, sessions, revenue}, "
        "topThemes[]. Also served at GET /admin/analytics/dashboard. " + ANALYTICS_ERRORS,
    )
    def get(self, request):
        return Response(selectors.analytics_dashboard(date_range=self.date_range()))


class ReportView(AnalyticsView):
    @extend_schema(
        parameters=[*RANGE_PARAMETERS, GROUP_BY_PARAMETER],
        responses=_data_schema("AnalyticsReport"),
        description="type users|sessions|subscriptions|revenue|themes (else 404). data {type, groupBy, startDate, "
        "endDate, rows: [{period, ...}]}; `period` is the first day of the day/ISO week/month. " + ANALYTICS_ERRORS,
    )
    def get(self, request, report_type: str):
        if report_type not in selectors.REPORT_TYPES:
            raise UnknownReportType(f"Unknown report type. Use one of: {', '.join(selectors.REPORT_TYPES)}.")
        date_range = self.date_range()
        group_by = _group_by(request)
        return Response(selectors.analytics_report(report_type=report_type, group_by=group_by, date_range=date_range))


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
    FORMATS = ("csv", "xlsx", "pdf")
    EXPORT_TYPES = ("overview", *selectors.REPORT_TYPES)

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
        date_range = self.date_range()
        file_format = self.fixed_format or (request.query_params.get("format") or "csv").lower()
        if file_format not in self.FORMATS:
            raise ValidationFailed("format must be one of csv, xlsx, pdf.", errors={"format": ["Unknown format."]})
        export_type = (request.query_params.get("type") or "overview").lower()
        if export_type not in self.EXPORT_TYPES:
            raise ValidationFailed(
                f"type must be one of {', '.join(self.EXPORT_TYPES)}.", errors={"type": ["Unknown export type."]}
            )
        report = None
        if export_type != "overview":
            report = selectors.analytics_report(
                report_type=export_type, group_by=_group_by(request), date_range=date_range
            )
        if file_format == "csv":
            content = exports.build_csv(date_range=date_range, report=report)
        elif file_format == "xlsx":
            content = exports.build_xlsx(bundle=exports.collect(date_range), report=report)
        else:
            content = exports.build_pdf(bundle=exports.collect(date_range))
        response = HttpResponse(content, content_type=exports.CONTENT_TYPES[file_format])
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
        serializer = AssessmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = assessment_record(user=request.user, **serializer.validated_data)
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AssessmentSerializer(many=True))
    def get(self, request):
        paginator = PageLimitPagination()
        queryset = request.user.assessments.order_by("-taken_at", "-id")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(AssessmentSerializer(page, many=True).data)
