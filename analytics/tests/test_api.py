import pytest

from accounts.models import RolePermission
from accounts.roles import clear_role_permission_cache
from accounts.tests.factories import UserFactory
from analytics.tests.conftest import EMPTY_RANGE, RANGE, at
from rooms.tests.factories import RoomSessionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1"
JSON_ENDPOINTS = [
    "/analytics/overview",
    "/analytics/sessions",
    "/analytics/outcomes",
    "/analytics/dashboard",
    "/admin/analytics/dashboard",
    "/analytics/reports/sessions",
]
FILE_ENDPOINTS = ["/analytics/export", "/analytics/export/excel", "/analytics/export/pdf"]
ALL_ENDPOINTS = JSON_ENDPOINTS + FILE_ENDPOINTS


def get_data(client, path, params=None, status=200):
    response = client.get(BASE + path, params or {})
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is True
    return body["data"]


def _assert_numbers(value, path="data"):
    """Every leaf the UI reads is a JSON number (never a string or null)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _assert_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _assert_numbers(item, f"{path}[{index}]")
    else:
        assert value is not None, path


# --- numbers against the hand-computed data set (conftest.dataset) ------------------------------------


def test_overview_matches_hand_computed_figures(admin_client, dataset):
    data = get_data(admin_client, "/analytics/overview", RANGE)
    assert data == {
        "totalUsers": 4,  # p1, p2, p3, t1 (deleted user and the fixture users created today excluded)
        "newUsers": 3,  # p2, p3 (23:30 on the end date), t1
        "activeUsers": 3,  # p1, p2, t1 started a session
        "totalSessions": 3,
        "completedSessions": 2,
        "completionRate": 66.67,
        "avgDuration": 12.5,  # (600 + 900) / 2 s = 750 s
        "avgDurationSeconds": 750,
        "uniquePatients": 2,
        "avgRating": 3.5,  # (5 + 2) / 2
        "avgPhq9Improvement": 3.0,  # (8 + -2) / 2
        "activeSubscriptions": 3,
        "revenue": 39800,
        "renewals": 0,  # no Autopay renewal in the data set: both payments are first purchases
        "renewalRevenue": 0,
        "firstPurchases": 2,
        "mrr": 0,
        "mandatesAtStart": 0,
        "mandatesChurned": 0,
        "mandateChurnRate": 0.0,
        "currency": "INR",
        "dateRange": {"startDate": "2025-03-01", "endDate": "2025-03-07"},
    }


def test_overview_types_are_json_numbers(admin_client, dataset):
    data = get_data(admin_client, "/analytics/overview", RANGE)
    for key in ("totalSessions", "completionRate", "uniquePatients", "avgPhq9Improvement", "avgRating", "avgDuration"):
        assert isinstance(data[key], int | float), key
        assert not isinstance(data[key], bool), key
    assert isinstance(data["revenue"], int)


def test_session_on_end_date_at_2330_counts(admin_client, dataset):
    day_only = get_data(admin_client, "/analytics/overview", {"startDate": "2025-03-07", "endDate": "2025-03-07"})
    assert day_only["totalSessions"] == 1
    assert day_only["completedSessions"] == 1
    before = get_data(admin_client, "/analytics/overview", {"startDate": "2025-03-01", "endDate": "2025-03-06"})
    assert before["totalSessions"] == 2
    assert before["completionRate"] == 50.0


def test_sessions_breakdowns(admin_client, dataset):
    data = get_data(admin_client, "/analytics/sessions", RANGE)
    assert data["byType"] == [
        {
            "category": "nature",
            "total": 2,
            "completed": 1,
            "completionRate": 50.0,
            "avgDuration": 10.0,
            "avgDurationSeconds": 600,
            "avgRating": 3.5,
        },
        {
            "category": "water",
            "total": 1,
            "completed": 1,
            "completionRate": 100.0,
            "avgDuration": 15.0,
            "avgDurationSeconds": 900,
            "avgRating": 0.0,
        },
    ]
    assert [(row["category"], row["total"], row["avgRating"]) for row in data["byMode"]] == [
        ("unknown", 1, 0.0),
        ("mobile", 1, 2.0),
        ("web", 1, 5.0),
    ]
    assert [(row["themeId"], row["title"], row["total"], row["completed"]) for row in data["byTheme"]] == [
        ("forest-walk", "Forest Walk", 2, 1),
        ("ocean-calm", "Ocean Calm", 1, 1),
    ]
    _assert_numbers(data)


def test_outcomes_by_assessment_type_and_daily(admin_client, dataset):
    data = get_data(admin_client, "/analytics/outcomes", RANGE)
    assert data["byAssessmentType"] == [
        # moods 4->7, 6->5, 3->6
        {
            "type": "MOOD",
            "count": 3,
            "avgPreScore": 4.3,
            "avgPostScore": 6.0,
            "avgImprovement": 1.67,
            "improvementRate": 66.7,
        },
        # p1 18 -> 10 (the next post, not the later 8), p2 12 -> 14; p3 has no post
        {
            "type": "PHQ9",
            "count": 2,
            "avgPreScore": 15.0,
            "avgPostScore": 12.0,
            "avgImprovement": 3.0,
            "improvementRate": 50.0,
        },
        # p1 15 -> 9; p2's pre was before the range
        {
            "type": "GAD7",
            "count": 1,
            "avgPreScore": 15.0,
            "avgPostScore": 9.0,
            "avgImprovement": 6.0,
            "improvementRate": 100.0,
        },
    ]
    assert [(row["date"], row["sessionsStarted"], row["sessionsCompleted"]) for row in data["daily"]] == [
        ("2025-03-01", 1, 1),
        ("2025-03-02", 1, 0),
        ("2025-03-03", 0, 0),
        ("2025-03-04", 0, 0),
        ("2025-03-05", 0, 0),
        ("2025-03-06", 0, 0),
        ("2025-03-07", 1, 1),
    ]


@pytest.mark.parametrize("path", ["/analytics/dashboard", "/admin/analytics/dashboard"])
def test_dashboard(admin_client, dataset, path):
    data = get_data(admin_client, path, RANGE)
    assert data["period"] == "custom"
    assert data["summary"] == {
        "totalUsers": 4,
        "newUsers": 3,
        "activeUsers": 3,
        "totalSessions": 3,
        "completedSessions": 2,
        "completionRate": 66.67,
        "avgSessionDuration": 12.5,
        "avgSessionDurationSeconds": 750,
        "totalSubscriptions": 2,  # sub2 (active) and sub5 (cancelled) started in the range
        "activeSubscriptions": 3,  # sub1, sub2, and sub6 (expired after the range)
        "revenue": 39800,
        "payments": 2,
        "avgOrderValue": 19900,
        "currency": "INR",
    }
    assert [(row["date"], row["users"], row["sessions"], row["revenue"]) for row in data["daily"]] == [
        ("2025-03-01", 0, 1, 29900),
        ("2025-03-02", 1, 1, 0),
        ("2025-03-03", 0, 0, 0),
        ("2025-03-04", 0, 0, 0),
        ("2025-03-05", 1, 0, 0),
        ("2025-03-06", 0, 0, 0),
        ("2025-03-07", 1, 1, 9900),
    ]
    assert [(row["themeId"], row["sessions"], row["completed"]) for row in data["topThemes"]] == [
        ("forest-walk", 2, 1),
        ("ocean-calm", 1, 1),
    ]


def test_dashboard_period_parameter(admin_client, dataset):
    data = get_data(admin_client, "/analytics/dashboard", {"period": "7d"})
    assert data["period"] == "7d"
    assert len(data["daily"]) == 7


def test_default_range_is_last_30_days(admin_client):
    data = get_data(admin_client, "/analytics/outcomes")
    assert len(data["daily"]) == 30
    assert data["dateRange"]["endDate"] == data["daily"][-1]["date"]


# --- empty range ----------------------------------------------------------------------------------------


def test_empty_range_is_all_zeros_and_empty_arrays(admin_client, dataset):
    overview = get_data(admin_client, "/analytics/overview", EMPTY_RANGE)
    for key, value in overview.items():
        if key not in ("dateRange", "currency"):
            assert value == 0, key
            assert value is not None
    sessions = get_data(admin_client, "/analytics/sessions", EMPTY_RANGE)
    assert sessions["byType"] == []
    assert sessions["byMode"] == []
    assert sessions["byTheme"] == []
    outcomes = get_data(admin_client, "/analytics/outcomes", EMPTY_RANGE)
    assert outcomes["byAssessmentType"] == []
    assert len(outcomes["daily"]) == 7
    assert all(row["sessionsStarted"] == 0 and row["sessionsCompleted"] == 0 for row in outcomes["daily"])
    dashboard = get_data(admin_client, "/analytics/dashboard", EMPTY_RANGE)
    assert set(dashboard["summary"].values()) == {0, "INR"}
    assert dashboard["topThemes"] == []
    assert all(row["users"] == row["sessions"] == row["revenue"] == 0 for row in dashboard["daily"])


def test_empty_database_answers_zeros(admin_client):
    overview = get_data(admin_client, "/analytics/overview", RANGE)
    assert overview["completionRate"] == 0
    assert overview["avgRating"] == 0
    assert overview["revenue"] == 0


# --- reports --------------------------------------------------------------------------------------------


def test_report_sessions_by_day(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/sessions", {**RANGE, "groupBy": "day"})
    assert data["type"] == "sessions"
    assert data["groupBy"] == "day"
    assert (data["startDate"], data["endDate"]) == ("2025-03-01", "2025-03-07")
    assert len(data["rows"]) == 7
    first, last = data["rows"][0], data["rows"][-1]
    assert (first["period"], first["total"], first["completed"], first["avgRating"]) == ("2025-03-01", 1, 1, 5.0)
    assert (last["period"], last["total"], last["avgDuration"]) == ("2025-03-07", 1, 15.0)


def test_report_sessions_by_week_uses_iso_monday(admin_client, dataset):
    # 2025-03-01 is a Saturday: its ISO week starts on Monday 2025-02-24.
    data = get_data(admin_client, "/analytics/reports/sessions", {**RANGE, "groupBy": "week"})
    assert [(row["period"], row["total"], row["completed"], row["completionRate"]) for row in data["rows"]] == [
        ("2025-02-24", 2, 1, 50.0),
        ("2025-03-03", 1, 1, 100.0),
    ]


def test_report_sessions_by_month(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/sessions", {**RANGE, "groupBy": "month"})
    assert [(row["period"], row["total"], row["completionRate"], row["uniqueUsers"]) for row in data["rows"]] == [
        ("2025-03-01", 3, 66.67, 3)
    ]


def test_report_sessions_by_month_across_months(admin_client, dataset):
    data = get_data(
        admin_client,
        "/analytics/reports/sessions",
        {"startDate": "2025-02-01", "endDate": "2025-03-31", "groupBy": "month"},
    )
    assert [(row["period"], row["total"]) for row in data["rows"]] == [("2025-02-01", 1), ("2025-03-01", 4)]


def test_report_users(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/users", {**RANGE, "groupBy": "week"})
    assert data["rows"] == [
        {"period": "2025-02-24", "newUsers": 1, "activeUsers": 2},
        {"period": "2025-03-03", "newUsers": 2, "activeUsers": 1},
    ]


def test_report_revenue(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/revenue", {**RANGE, "groupBy": "week"})
    assert data["rows"] == [
        {
            "period": "2025-02-24",
            "revenue": 29900,
            "payments": 1,
            "renewals": 0,
            "firstPurchases": 1,
            "avgOrderValue": 29900,
        },
        {
            "period": "2025-03-03",
            "revenue": 9900,
            "payments": 1,
            "renewals": 0,
            "firstPurchases": 1,
            "avgOrderValue": 9900,
        },
    ]


def test_report_subscriptions(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/subscriptions", {**RANGE, "groupBy": "month"})
    assert data["rows"] == [{"period": "2025-03-01", "started": 2, "cancelled": 1}]


def test_report_themes(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/themes", {**RANGE, "groupBy": "week"})
    assert [(row["period"], row["themeId"], row["total"]) for row in data["rows"]] == [
        ("2025-02-24", "forest-walk", 2),
        ("2025-03-03", "ocean-calm", 1),
    ]


def test_report_default_group_by_is_day(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/revenue", RANGE)
    assert data["groupBy"] == "day"
    assert len(data["rows"]) == 7


def test_report_unknown_type_is_404(admin_client):
    response = admin_client.get(f"{BASE}/analytics/reports/therapists", RANGE)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["error"]


def test_report_unknown_group_by_is_400(admin_client):
    response = admin_client.get(f"{BASE}/analytics/reports/users", {**RANGE, "groupBy": "year"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_report_on_empty_range_has_zero_rows_per_period(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/users", {**EMPTY_RANGE, "groupBy": "day"})
    assert len(data["rows"]) == 7
    assert all(row["newUsers"] == 0 and row["activeUsers"] == 0 for row in data["rows"])
    themes = get_data(admin_client, "/analytics/reports/themes", EMPTY_RANGE)
    assert themes["rows"] == []


# --- date ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"startDate": "2025-03-07", "endDate": "2025-03-01"},  # end before start
        {"startDate": "2025/03/01", "endDate": "2025-03-07"},
        {"startDate": "2025-02-30", "endDate": "2025-03-07"},
        {"startDate": "yesterday"},
        {"endDate": "2025-13-01"},
        {"period": "2w"},
        {"period": "30"},
        {"startDate": "0001-01-01", "endDate": "0001-01-02"},
        {"startDate": "2000-01-01", "endDate": "2025-01-01"},  # longer than allowed
    ],
)
@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_invalid_date_range_is_400(admin_client, path, params):
    response = admin_client.get(BASE + path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_date_range"
    assert body["success"] is False
    assert isinstance(body["error"], str)
    assert body["error"]


# --- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_patient_is_refused(auth_client, path):
    response = auth_client.get(BASE + path, RANGE)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["error"]


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_anonymous_is_refused(api_client, path):
    response = api_client.get(BASE + path, RANGE)
    assert response.status_code == 401
    assert response.json()["error"]


@pytest.mark.parametrize("path", ["/analytics/overview", "/analytics/export/pdf"])
def test_admin_without_mfa_is_refused(make_auth_client, admin_user, path):
    response = make_auth_client(admin_user, mfa_verified=False).get(BASE + path, RANGE)
    assert response.status_code == 403
    assert response.json()["code"] == "admin_mfa_required"


@pytest.mark.parametrize("path", ["/analytics/overview", "/analytics/export/excel"])
def test_admin_role_without_view_analytics_grant_is_refused(admin_client, path):
    RolePermission.objects.filter(role="admin", permission="view_analytics").delete()
    clear_role_permission_cache()
    try:
        response = admin_client.get(BASE + path, RANGE)
    finally:
        clear_role_permission_cache()
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_therapist_is_refused(make_auth_client):
    therapist = UserFactory(created_at=at(1), role="therapist", email="t9@example.com")
    response = make_auth_client(therapist).get(BASE + "/analytics/overview")
    assert response.status_code == 403


# --- query count ----------------------------------------------------------------------------------------


def test_sessions_endpoint_query_count_does_not_grow_with_rows(admin_client, dataset, django_assert_max_num_queries):
    theme = ThemeFactory(slug="extra", category="extra")
    for day in range(1, 8):
        RoomSessionFactory(completed=True, user=dataset["p1"], theme=theme, started_at=at(day, 6), duration_seconds=60)
    with django_assert_max_num_queries(8):
        data = get_data(admin_client, "/analytics/sessions", RANGE)
    assert data["byType"][0] == {
        "category": "extra",
        "total": 7,
        "completed": 7,
        "completionRate": 100.0,
        "avgDuration": 1.0,
        "avgDurationSeconds": 60,
        "avgRating": 0.0,
    }
