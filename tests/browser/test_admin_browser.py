"""A real browser against the Django admin: TOTP sign-in, the users changelist, and the analytics page whose
charts must draw with every request to anything but the test server cut off.

Headless Debian Chromium (/usr/bin/chromium, installed by scripts/system-deps.sh; never downloaded) driven by
Playwright's sync API. The browser runs in the test thread; pytest-django's `live_server` serves Django from
its own thread. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest

from accounts.tests.factories import UserFactory
from analytics.tests.factories import AnalyticsPaymentFactory
from rooms.tests.factories import RoomSessionFactory, ThemeFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
RANGE_QUERY = "startDate=2025-03-01&endDate=2025-03-07"


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


def _data_for_the_charts():
    forest = ThemeFactory(slug="browser-forest", title="Browser Forest", category="nature")
    ocean = ThemeFactory(slug="browser-ocean", title="Browser Ocean", category="water")
    patient = UserFactory(created_at=_at(2), email="browser-patient@example.com")
    other = UserFactory(created_at=_at(4), email="browser-other@example.com")
    RoomSessionFactory(completed=True, user=patient, theme=forest, started_at=_at(1), duration_seconds=600, rating=5)
    RoomSessionFactory(completed=True, user=other, theme=forest, started_at=_at(3), duration_seconds=900, rating=4)
    RoomSessionFactory(completed=True, user=patient, theme=ocean, started_at=_at(6), duration_seconds=300)
    AnalyticsPaymentFactory(amount_paise=29900, status="success", completed_at=_at(2), user=patient)
    AnalyticsPaymentFactory(amount_paise=9900, status="success", completed_at=_at(6), user=other)


def _launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def _run_browser(base_url: str, email: str, password: str, secret: str) -> dict:
    """Everything the browser does, in a plain function (no asyncio loop in this thread)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    server = urlsplit(base_url)
    blocked: list[str] = []
    served: list[str] = []
    results: dict = {}

    def only_the_test_server(route):
        url = urlsplit(route.request.url)
        if (url.scheme, url.hostname, url.port) == (server.scheme, server.hostname, server.port):
            served.append(route.request.url)
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            context.set_default_timeout(15_000)
            context.route("**/*", only_the_test_server)
            page = context.new_page()

            # Sign in: email, password and the current TOTP code (docs/staff.md field names).
            page.goto(f"{base_url}/admin/login/?next=/admin/")
            page.fill('input[name="username"]', email)
            page.fill('input[name="password"]', password)
            page.fill('input[name="otp_token"]', pyotp.TOTP(secret).now())
            page.click('input[type="submit"], button[type="submit"]')
            page.wait_for_url(f"{base_url}/admin/")
            results["index_has_analytics_link"] = page.locator("#admin-analytics-link").count() == 1
            page.screenshot(path=str(ARTIFACTS / "admin-index.png"), full_page=True)

            page.goto(f"{base_url}/admin/accounts/user/")
            results["users_title"] = page.title()
            results["users_listed"] = page.locator("#result_list tbody tr").count()
            results["users_text"] = page.locator("#result_list").inner_text()
            page.screenshot(path=str(ARTIFACTS / "admin-users-changelist.png"), full_page=True)

            page.goto(f"{base_url}/admin/analytics/?{RANGE_QUERY}")
            page.wait_for_selector("svg#chart-sessions")
            results["analytics_title"] = page.title()
            charts = {}
            for chart_id in ("chart-users", "chart-sessions", "chart-revenue", "chart-themes"):
                box = page.locator(f"svg#{chart_id}").bounding_box()
                charts[chart_id] = {
                    "width": box["width"] if box else 0,
                    "height": box["height"] if box else 0,
                    # The drawn marks (line points or bars) and the size the browser gave them.
                    "marks": page.locator(f"svg#{chart_id} .chart-point, svg#{chart_id} .chart-bar").count(),
                    "drawn_width": page.evaluate(
                        """(id) => {
                            const shape = document.querySelector(`svg#${id} .chart-line, svg#${id} .chart-bar`);
                            return shape ? shape.getBBox().width : 0;
                        }""",
                        chart_id,
                    ),
                }
            results["charts"] = charts
            results["sessions_line_points"] = page.locator("svg#chart-sessions .chart-line").get_attribute("points")
            results["revenue_card"] = page.locator("#summary-revenue").inner_text()
            # An external resource, if the page had one, would be cut off here.
            results["external_probe"] = page.evaluate(
                """() => fetch('https://cdn.jsdelivr.net/npm/chart.js').then(() => 'loaded', () => 'blocked')"""
            )
            page.screenshot(path=str(ARTIFACTS / "admin-analytics.png"), full_page=True)
            context.close()
        finally:
            browser.close()
    results["blocked"] = blocked
    results["served"] = served
    return results


def test_admin_sign_in_users_and_analytics_charts_offline(live_server):
    from staff.tests.helpers import staff_admin_with_totp

    _data_for_the_charts()
    user, password, secret = staff_admin_with_totp(email="browser-staff@manas360.test")

    results = _run_browser(live_server.url, user.email, password, secret)

    assert results["index_has_analytics_link"]
    assert "user" in results["users_title"].lower()
    assert results["users_listed"] >= 3  # the staff admin and the two patients
    assert "browser-patient@example.com" in results["users_text"]

    assert "Analytics" in results["analytics_title"]
    for chart_id, chart in results["charts"].items():
        assert chart["width"] > 100, (chart_id, chart)
        assert chart["height"] > 50, (chart_id, chart)
        assert chart["drawn_width"] > 0, (chart_id, chart)
    assert results["charts"]["chart-sessions"]["marks"] == 7  # one point per day of the range
    assert results["charts"]["chart-users"]["marks"] == 7
    assert results["charts"]["chart-revenue"]["marks"] == 7
    assert results["charts"]["chart-themes"]["marks"] == 2  # two themes had sessions
    assert len(results["sessions_line_points"].split()) == 7
    assert results["revenue_card"] == "₹398.00"

    # The network really was cut off: the probe failed and nothing but the test server was reached.
    assert results["external_probe"] == "blocked"
    assert results["blocked"] == ["https://cdn.jsdelivr.net/npm/chart.js"]
    assert all(url.startswith(live_server.url) for url in results["served"])
    for name in ("admin-index.png", "admin-users-changelist.png", "admin-analytics.png"):
        assert (ARTIFACTS / name).stat().st_size > 5_000, name
