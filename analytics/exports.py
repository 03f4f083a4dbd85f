"""File exports of the analytics (docs/api.md §8; layouts in docs/analytics.md "Exports").

CSV: one table (the overview as Metric/Value rows, or one report's rows).
Excel: sheets Overview, Sessions by type, Outcomes, Themes, Daily trend (plus the requested report, if any),
bold white headers on a blue fill, sized columns.
PDF: title, date range, overview metrics, outcomes, top themes and the generation time.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from analytics import selectors
from analytics.dates import DateRange
from manas360.money import CURRENCY_CODE, format_rupees, paise_to_rupees

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
HEADER_FILL = "1F4E79"
HEADER_FONT_COLOUR = "FFFFFF"

OVERVIEW_LABELS = [
    ("total_users", "Total users"),
    ("new_users", "New users"),
    ("active_users", "Active users"),
    ("total_sessions", "Total sessions"),
    ("completed_sessions", "Completed sessions"),
    ("completion_rate", "Completion rate (%)"),
    ("avg_duration", "Average duration (minutes)"),
    ("avg_duration_seconds", "Average duration (seconds)"),
    ("unique_patients", "Unique patients"),
    ("avg_rating", "Average rating (1-5)"),
    ("avg_phq9_improvement", "Average PHQ-9 improvement"),
    ("active_subscriptions", "Active subscriptions"),
    ("revenue", f"Revenue ({CURRENCY_CODE})"),
    ("first_purchases", "First purchases"),
    ("renewals", "Autopay renewals"),
    ("renewal_revenue", f"Renewal revenue ({CURRENCY_CODE})"),
    ("mrr", f"Monthly recurring revenue ({CURRENCY_CODE})"),
    ("mandate_churn_rate", "Autopay churn (%)"),
]
# Amounts the selectors give in integer paise; files for people show them in rupees (exact Decimals, two
# decimals) with the currency in the column name.
MONEY_KEYS = frozenset({"revenue", "avg_order_value", "renewal_revenue", "mrr"})


def _for_people(key: str, value: Any) -> Any:
    return paise_to_rupees(value) if key in MONEY_KEYS else value


def _column_name(key: str) -> str:
    return f"{key}_{CURRENCY_CODE.lower()}" if key in MONEY_KEYS else key


def export_filename(date_range: DateRange, extension: str) -> str:
    return f"MANAS360_Analytics_{date_range.start.isoformat()}_{date_range.end.isoformat()}.{extension}"


def collect(date_range: DateRange, *, now: datetime) -> dict[str, Any]:
    """Everything the Excel and PDF files show."""
    dashboard = selectors.analytics_dashboard(date_range=date_range, now=now)
    return {
        "date_range": date_range,
        "overview": selectors.analytics_overview(date_range=date_range, now=now),
        "sessions": selectors.analytics_sessions(date_range=date_range),
        "outcomes": selectors.analytics_outcomes(date_range=date_range),
        "daily": dashboard["daily"],
        "top_themes": dashboard["top_themes"],
        "generated_at": now.astimezone(UTC),
    }


def _title(key: str) -> str:
    words = key.split("_")
    return " ".join([words[0].capitalize(), *words[1:]])


# --- CSV -----------------------------------------------------------------------------------------------


def build_csv(*, date_range: DateRange, report: dict[str, Any] | None, now: datetime) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if report is None:
        overview = selectors.analytics_overview(date_range=date_range, now=now)
        writer.writerow(["Metric", "Value"])
        writer.writerow(["Start date", date_range.start.isoformat()])
        writer.writerow(["End date", date_range.end.isoformat()])
        for key, label in OVERVIEW_LABELS:
            writer.writerow([label, _for_people(key, overview[key])])
    else:
        rows = report["rows"]
        columns = list(rows[0].keys()) if rows else ["period"]
        writer.writerow([_column_name(column) for column in columns])
        for row in rows:
            writer.writerow([_for_people(column, row[column]) for column in columns])
    # A BOM so that spreadsheet programs read the file as UTF-8 (theme titles may hold any script).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- Excel ---------------------------------------------------------------------------------------------


def _sheet(
    workbook: Any, title: str, headers: list[str], rows: list[list[Any]], widths: list[int] | None = None
) -> Any:
    # openpyxl and reportlab are heavy and only exports need them: imported on use, not in every worker at start.
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color=HEADER_FONT_COLOUR)
        cell.fill = PatternFill(start_color=HEADER_FILL, end_color=HEADER_FILL, fill_type="solid")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        sheet.append(row)
    for index, header in enumerate(headers, start=1):
        longest = max([len(str(header)), *(len(str(row[index - 1])) for row in rows)])
        width = widths[index - 1] if widths else min(max(longest + 2, 10), 60)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def build_xlsx(*, bundle: dict[str, Any], report: dict[str, Any] | None = None) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - heavy, exports only (see _sheet)

    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "Overview", ["Metric", "Value"], _overview_rows(bundle), widths=[34, 22])
    _sessions_sheet(workbook, bundle["sessions"]["by_type"])
    _outcomes_sheet(workbook, bundle["outcomes"]["by_assessment_type"])
    _themes_sheet(workbook, bundle["sessions"]["by_theme"])
    _daily_sheet(workbook, daily=bundle["daily"], outcomes_daily=bundle["outcomes"]["daily"])
    if report is not None:
        _report_sheet(workbook, report)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _overview_rows(bundle: dict[str, Any]) -> list[list[Any]]:
    date_range: DateRange = bundle["date_range"]
    overview = bundle["overview"]
    return [
        ["Start date", date_range.start.isoformat()],
        ["End date", date_range.end.isoformat()],
        *([label, _for_people(key, overview[key])] for key, label in OVERVIEW_LABELS),
        ["Generated at (UTC)", bundle["generated_at"].strftime("%Y-%m-%d %H:%M:%S")],
    ]


def _sessions_sheet(workbook: Any, by_type: list[dict[str, Any]]) -> None:
    session_columns = ["total", "completed", "completion_rate", "avg_duration", "avg_rating"]
    _sheet(
        workbook,
        "Sessions by type",
        ["Category", "Total", "Completed", "Completion rate (%)", "Average duration (min)", "Average rating"],
        [[row["category"], *(row[column] for column in session_columns)] for row in by_type],
    )


def _outcomes_sheet(workbook: Any, by_assessment_type: list[dict[str, Any]]) -> None:
    outcome_columns = ["type", "count", "avg_pre_score", "avg_post_score", "avg_improvement", "improvement_rate"]
    _sheet(
        workbook,
        "Outcomes",
        ["Type", "Count", "Average pre score", "Average post score", "Average improvement", "Improvement rate (%)"],
        [[row[column] for column in outcome_columns] for row in by_assessment_type],
    )


def _themes_sheet(workbook: Any, by_theme: list[dict[str, Any]]) -> None:
    theme_columns = ["slug", "title", "category", "tier", "total", "completed", "completion_rate", "avg_rating"]
    _sheet(
        workbook,
        "Themes",
        ["Theme", "Title", "Category", "Tier", "Sessions", "Completed", "Completion rate (%)", "Average rating"],
        [[row[column] for column in theme_columns] for row in by_theme],
    )


def _daily_sheet(workbook: Any, *, daily: list[dict[str, Any]], outcomes_daily: list[dict[str, Any]]) -> None:
    started = {row["date"]: row for row in outcomes_daily}
    _sheet(
        workbook,
        "Daily trend",
        ["Date", "New users", "Sessions started", "Sessions completed", f"Revenue ({CURRENCY_CODE})"],
        [
            [
                row["date"],
                row["users"],
                row["sessions"],
                started[row["date"]]["sessions_completed"],
                paise_to_rupees(row["revenue"]),
            ]
            for row in daily
        ],
    )


def _report_sheet(workbook: Any, report: dict[str, Any]) -> None:
    rows = report["rows"]
    columns = list(rows[0].keys()) if rows else ["period"]
    _sheet(
        workbook,
        f"Report {report['type']} by {report['group_by']}",
        [_title(_column_name(column)) for column in columns],
        [[_for_people(column, row[column]) for column in columns] for row in rows],
    )


# --- PDF -----------------------------------------------------------------------------------------------


def _pdf_value(key: str, value: Any) -> str:
    # The PDF's built-in fonts have no ₹ glyph: the ISO code stands in for it.
    return format_rupees(value, symbol=f"{CURRENCY_CODE} ") if key in MONEY_KEYS else str(value)


def build_pdf(*, bundle: dict[str, Any]) -> bytes:
    # Heavy, exports only (see _sheet).
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.lib.styles import getSampleStyleSheet  # noqa: PLC0415
    from reportlab.lib.units import mm  # noqa: PLC0415
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer  # noqa: PLC0415

    date_range: DateRange = bundle["date_range"]
    styles = getSampleStyleSheet()
    output = io.BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=A4,
        title="MANAS360 Analytics Report",
        author="MANAS360",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    overview = bundle["overview"]
    story = [
        Paragraph("MANAS360 Analytics Report", styles["Title"]),
        Paragraph(f"Date range: {date_range.start.isoformat()} to {date_range.end.isoformat()}", styles["Heading3"]),
        Spacer(1, 4 * mm),
        Paragraph("Overview", styles["Heading2"]),
        _pdf_table(
            [["Metric", "Value"], *([label, _pdf_value(key, overview[key])] for key, label in OVERVIEW_LABELS)],
            [95 * mm, 50 * mm],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Outcomes", styles["Heading2"]),
        _pdf_outcomes(bundle["outcomes"]["by_assessment_type"], styles),
        Spacer(1, 4 * mm),
        Paragraph("Top themes", styles["Heading2"]),
        _pdf_top_themes(bundle["top_themes"], styles),
    ]
    generated_at: datetime = bundle["generated_at"]
    story += [
        Spacer(1, 6 * mm),
        Paragraph(f"Generated at {generated_at.strftime('%Y-%m-%d %H:%M:%S')} UTC", styles["Italic"]),
    ]
    document.build(story)
    return output.getvalue()


def _pdf_table(rows: list[list[Any]], widths: list[float]) -> Any:
    """A table with the workbook's header colours, a light grid and banded rows."""
    from reportlab.lib import colors  # noqa: PLC0415 - heavy, exports only (see _sheet)
    from reportlab.platypus import Table, TableStyle  # noqa: PLC0415

    result = Table(rows, colWidths=widths, hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(f"#{HEADER_FILL}")),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#B0B7C3")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F5F9")]),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    return result


def _pdf_outcomes(outcomes: list[dict[str, Any]], styles: Any) -> Any:
    from reportlab.lib.units import mm  # noqa: PLC0415 - heavy, exports only (see _sheet)
    from reportlab.platypus import Paragraph  # noqa: PLC0415

    if not outcomes:
        return Paragraph("No outcome data in this range.", styles["Normal"])
    columns = ["type", "count", "avg_pre_score", "avg_post_score", "avg_improvement", "improvement_rate"]
    return _pdf_table(
        [
            ["Type", "Count", "Avg pre", "Avg post", "Avg improvement", "Improved (%)"],
            *([str(row[column]) for column in columns] for row in outcomes),
        ],
        [25 * mm, 20 * mm, 25 * mm, 25 * mm, 35 * mm, 30 * mm],
    )


def _pdf_top_themes(top_themes: list[dict[str, Any]], styles: Any) -> Any:
    from reportlab.lib.units import mm  # noqa: PLC0415 - heavy, exports only (see _sheet)
    from reportlab.platypus import Paragraph  # noqa: PLC0415

    if not top_themes:
        return Paragraph("No sessions in this range.", styles["Normal"])
    columns = ["title", "category", "sessions", "completed", "avg_rating"]
    return _pdf_table(
        [
            ["Theme", "Category", "Sessions", "Completed", "Avg rating"],
            *([str(row[column]) for column in columns] for row in top_themes),
        ],
        [60 * mm, 35 * mm, 25 * mm, 25 * mm, 25 * mm],
    )


# --- One entry point ------------------------------------------------------------------------------------


def export_file(
    *, date_range: DateRange, file_format: str, report_type: str | None, group_by: str | None, now: datetime
) -> bytes:
    """The file for `file_format` (csv, xlsx or pdf); a report type adds its rows to the CSV (as its only table)
    and to the workbook (as one more sheet). The PDF is always the overview."""
    report = None
    if report_type is not None and group_by is not None and file_format != "pdf":
        report = selectors.analytics_report(report_type=report_type, group_by=group_by, date_range=date_range)
    if file_format == "csv":
        return build_csv(date_range=date_range, report=report, now=now)
    if file_format == "xlsx":
        return build_xlsx(bundle=collect(date_range, now=now), report=report)
    return build_pdf(bundle=collect(date_range, now=now))
