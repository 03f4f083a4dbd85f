"""The analytics page of the Django admin (/admin/analytics/): staff only, through the admin site's
`admin_view`, so it has the same sign-in (with its second factor) as the rest of the admin."""

from __future__ import annotations

from datetime import UTC

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse

from accounts.roles import Permission, role_has_permission
from analytics import charts, exports, selectors
from analytics.dates import PERIOD_DAYS, parse_date_range
from analytics.errors import InvalidDateRange
from manas360.api.clock import request_now
from manas360.money import format_rupees


def _require_view_analytics(request) -> None:
    user = request.user
    if not (user.is_superuser or role_has_permission(user.role, Permission.VIEW_ANALYTICS)):
        raise PermissionDenied("Your role may not view analytics.")


def analytics_page(request):
    _require_view_analytics(request)
    now = request_now(request)
    today = now.astimezone(UTC).date()
    error = ""
    try:
        date_range = parse_date_range(request.GET, today=today)
    except InvalidDateRange as exc:
        error = exc.message
        date_range = parse_date_range({}, today=today)
    dashboard = selectors.analytics_dashboard(date_range=date_range, now=now)
    overview = selectors.analytics_overview(date_range=date_range, now=now)
    daily = dashboard["daily"]
    context = {
        **admin.site.each_context(request),
        "title": "Analytics",
        "error": error,
        "date_range": date_range,
        "periods": list(PERIOD_DAYS),
        "summary": dashboard["summary"],
        "overview": overview,
        "revenue": format_rupees(dashboard["summary"]["revenue"]),  # exact, from integer paise
        "top_themes": dashboard["top_themes"],
        "query": request.GET.urlencode(),
        "charts": {
            "users": charts.line_chart(
                points=[(row["date"], row["users"]) for row in daily],
                title="New users per day",
                colour="#2f6fb7",
                chart_id="chart-users",
            ),
            "sessions": charts.line_chart(
                points=[(row["date"], row["sessions"]) for row in daily],
                title="Room sessions started per day",
                colour="#2e8b57",
                chart_id="chart-sessions",
            ),
            "revenue": charts.line_chart(
                points=[(row["date"], row["revenue"] / 100) for row in daily],
                title="Revenue per day (INR)",
                colour="#b7632f",
                chart_id="chart-revenue",
                unit="₹",
            ),
            "themes": charts.bar_chart(
                bars=[(row["title"], row["sessions"]) for row in dashboard["top_themes"]],
                title="Top themes by sessions",
                colour="#6a4fb7",
                chart_id="chart-themes",
            ),
        },
    }
    return TemplateResponse(request, "admin/analytics/dashboard.html", context)


def analytics_export(request, file_format: str):
    """The page's download buttons: the same files as the API exports, for the admin-site session."""
    _require_view_analytics(request)
    if file_format not in exports.CONTENT_TYPES:
        raise Http404("Unknown export format.")
    now = request_now(request)
    try:
        date_range = parse_date_range(request.GET, today=now.astimezone(UTC).date())
    except InvalidDateRange as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    content = exports.export_file(
        date_range=date_range, file_format=file_format, report_type=None, group_by=None, now=now
    )
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f"attachment; filename={exports.export_filename(date_range, file_format)}"
    response["Cache-Control"] = "no-store"
    return response
