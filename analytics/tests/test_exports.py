import csv
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from analytics.tests.conftest import EMPTY_RANGE, RANGE

pytestmark = pytest.mark.django_db

BASE = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(client, path, params, content_type, extension):
    response = client.get(BASE + path, params)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"] == (
        f"attachment; filename=MANAS360_Analytics_{params['startDate']}_{params['endDate']}.{extension}"
    )
    return response.content


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_overview(admin_client, dataset):
    content = _download(admin_client, "/analytics/export", {**RANGE, "format": "csv"}, "text/csv", "csv")
    rows = dict(_csv_rows(content)[1:])
    assert _csv_rows(content)[0] == ["Metric", "Value"]
    assert rows["Start date"] == "2025-03-01"
    assert rows["End date"] == "2025-03-07"
    assert rows["Total sessions"] == "3"
    assert rows["Completion rate (%)"] == "66.67"
    assert rows["Revenue (INR)"] == "398.00"  # rupees for people: 29900 + 9900 paise
    assert "Revenue (paise)" not in rows
    assert rows["Average PHQ-9 improvement"] == "3.0"


def test_csv_report_rows_per_group(admin_client, dataset):
    params = {**RANGE, "format": "csv", "type": "revenue", "groupBy": "week"}
    rows = _csv_rows(_download(admin_client, "/analytics/export", params, "text/csv", "csv"))
    assert rows == [
        ["period", "revenue_inr", "payments", "renewals", "first_purchases", "avg_order_value_inr"],
        ["2025-02-24", "299.00", "1", "0", "1", "299.00"],
        ["2025-03-03", "99.00", "1", "0", "1", "99.00"],
    ]


def test_csv_is_the_default_format(admin_client, dataset):
    response = admin_client.get(BASE + "/analytics/export", RANGE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("params", "field"), [({"format": "docx"}, "format"), ({"format": "csv", "type": "therapists"}, "type")]
)
def test_export_unknown_format_or_type_is_json_400(admin_client, params, field):
    response = admin_client.get(BASE + "/analytics/export", {**RANGE, **params})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["errors"]
    assert body["error"]


# --- Excel ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "extra"), [("/analytics/export/excel", {}), ("/analytics/export", {"format": "xlsx"})]
)
def test_excel_workbook(admin_client, dataset, path, extra):
    content = _download(admin_client, path, {**RANGE, **extra}, XLSX, "xlsx")
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Overview", "Sessions by type", "Outcomes", "Themes", "Daily trend"]

    overview = workbook["Overview"]
    header = overview["A1"]
    assert (header.value, overview["B1"].value) == ("Metric", "Value")
    assert header.font.bold is True
    assert header.font.color.rgb.endswith("FFFFFF")
    assert header.fill.fill_type == "solid"
    assert header.fill.start_color.rgb.endswith("1F4E79")
    assert overview.column_dimensions["A"].width >= 30
    values = {row[0]: row[1] for row in overview.iter_rows(min_row=2, values_only=True)}
    assert values["Start date"] == "2025-03-01"
    assert values["End date"] == "2025-03-07"
    assert values["Total sessions"] == 3
    assert values["Completion rate (%)"] == 66.67
    assert values["Revenue (INR)"] == 398

    by_type = list(workbook["Sessions by type"].iter_rows(values_only=True))
    assert by_type[0][0] == "Category"
    assert by_type[1:] == [("nature", 2, 1, 50.0, 10.0, 3.5), ("water", 1, 1, 100.0, 15.0, 0.0)]
    assert workbook["Sessions by type"]["A1"].font.bold is True

    outcomes = list(workbook["Outcomes"].iter_rows(values_only=True))
    assert [row[:2] for row in outcomes[1:]] == [("MOOD", 3), ("PHQ9", 2), ("GAD7", 1)]

    themes = list(workbook["Themes"].iter_rows(values_only=True))
    assert [row[0] for row in themes[1:]] == ["forest-walk", "ocean-calm"]

    daily = list(workbook["Daily trend"].iter_rows(values_only=True))
    assert daily[0] == ("Date", "New users", "Sessions started", "Sessions completed", "Revenue (INR)")
    assert daily[1] == ("2025-03-01", 0, 1, 1, 299)
    assert daily[-1] == ("2025-03-07", 1, 1, 1, 99)
    assert len(daily) == 8


def test_excel_with_report_type_adds_a_sheet(admin_client, dataset):
    params = {**RANGE, "type": "sessions", "groupBy": "month"}
    workbook = load_workbook(io.BytesIO(_download(admin_client, "/analytics/export/excel", params, XLSX, "xlsx")))
    assert workbook.sheetnames[-1] == "Report sessions by month"
    rows = list(workbook["Report sessions by month"].iter_rows(values_only=True))
    assert rows[0][0] == "Period"
    assert rows[1][:3] == ("2025-03-01", 3, 2)


def test_excel_on_empty_range(admin_client, dataset):
    content = _download(admin_client, "/analytics/export/excel", EMPTY_RANGE, XLSX, "xlsx")
    workbook = load_workbook(io.BytesIO(content))
    assert workbook["Sessions by type"].max_row == 1  # header only
    values = {row[0]: row[1] for row in workbook["Overview"].iter_rows(min_row=2, values_only=True)}
    assert values["Total sessions"] == 0


# --- PDF ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "extra"), [("/analytics/export/pdf", {}), ("/analytics/export", {"format": "pdf"})])
def test_pdf_report(admin_client, dataset, path, extra):
    content = _download(admin_client, path, {**RANGE, **extra}, "application/pdf", "pdf")
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "MANAS360 Analytics Report" in text
    assert "2025-03-01 to 2025-03-07" in text
    assert "Completion rate (%) 66.67" in text
    assert "Revenue (INR) INR 398.00" in text
    assert "Forest Walk" in text
    assert "Ocean Calm" in text
    assert "Generated at" in text
    assert reader.metadata.title == "MANAS360 Analytics Report"


def test_pdf_on_empty_range(admin_client):
    content = _download(admin_client, "/analytics/export/pdf", EMPTY_RANGE, "application/pdf", "pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())
    assert "No sessions in this range." in text
    assert "Total sessions 0" in text


# --- transport ------------------------------------------------------------------------------------------


def test_export_works_with_the_access_token_cookie_and_no_csrf_header(api_client, admin_user, dataset):
    """The admin UI opens exports with window.open: cookies only, no X-CSRF-Token."""
    from accounts.tests.helpers import issue_access_token

    api_client.cookies["access_token"] = issue_access_token(user=admin_user, mfa_verified=True)
    response = api_client.get(BASE + "/analytics/export/pdf", RANGE, HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_export_error_is_json_even_when_the_browser_asks_for_html(api_client):
    response = api_client.get(BASE + "/analytics/export/excel", RANGE, HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]
