"""The analytics page inside the Django admin (/admin/analytics/)."""

import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from accounts.models import RolePermission
from accounts.roles import clear_role_permission_cache
from accounts.tests.factories import UserFactory
from analytics.tests.conftest import RANGE

pytestmark = pytest.mark.django_db

PAGE = "/admin/analytics/"


@pytest.fixture
def staff_client(db):
    from staff.tests.helpers import staff_admin_client

    return staff_admin_client()


def test_page_shows_figures_and_svg_charts(staff_client, dataset):
    response = staff_client.get(PAGE, RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="range-start">2025-03-01<' in html
    assert 'id="range-end">2025-03-07<' in html
    assert "₹398.00" in html  # 39 800 paise
    for chart in ("chart-users", "chart-sessions", "chart-revenue", "chart-themes"):
        svg = re.search(rf'<svg[^>]*id="{chart}"[^>]*>(.*?)</svg>', html, re.S)
        assert svg, chart
    sessions_svg = re.search(r'<svg[^>]*id="chart-sessions"[^>]*data-points="(\d+)"', html)
    assert sessions_svg.group(1) == "7"
    assert html.count('class="chart-bar"') == 2  # Forest Walk and Ocean Calm
    assert "Forest Walk" in html
    # No external resources: the page must draw offline.
    assert "cdn" not in html.lower()
    assert '<script src="http' not in html


def test_bad_range_shows_an_error_and_the_default_range(staff_client):
    response = staff_client.get(PAGE, {"startDate": "2025-03-07", "endDate": "2025-03-01"})
    assert response.status_code == 200
    assert "endDate must not be before startDate." in response.content.decode()


def test_admin_index_links_to_the_page(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    assert f'href="{PAGE}"' in response.content.decode()


def test_anonymous_is_sent_to_the_admin_login():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_signed_in_non_staff_user_is_sent_to_the_login(db):
    patient = UserFactory(password="Patient-pass-123!")
    client = Client()
    client.force_login(patient)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_without_view_analytics_is_refused(staff_client):
    RolePermission.objects.filter(role="admin", permission="view_analytics").delete()
    clear_role_permission_cache()
    try:
        response = staff_client.get(PAGE)
    finally:
        clear_role_permission_cache()
    assert response.status_code == 403


def test_page_export_download(staff_client, dataset):
    response = staff_client.get(PAGE + "export.xlsx", RANGE)
    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename=MANAS360_Analytics_2025-03-01_2025-03-07.xlsx"
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[0] == "Overview"


def test_page_export_unknown_format_is_404(staff_client):
    assert staff_client.get(PAGE + "export.docx").status_code == 404


def test_page_export_is_staff_only():
    response = Client().get(PAGE + "export.pdf", RANGE)
    assert response.status_code == 302


def test_assessments_are_listed_read_only_in_the_admin(staff_client, dataset):
    response = staff_client.get("/admin/analytics/assessment/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "p1@example.com" in html
    assert "/admin/analytics/assessment/add/" not in html


def test_revenue_card_is_exact_rupees_with_grouping(staff_client):
    from analytics.tests.factories import AnalyticsPaymentFactory

    AnalyticsPaymentFactory(amount_paise=12345601, status="success", user=UserFactory())
    html = staff_client.get(PAGE, {"period": "7d"}).content.decode()
    assert 'id="summary-revenue">₹123,456.01<' in html
