"""Query parameters are read by the analytics query serializers: wrong types and odd values are a clear 400 in the
envelope (never a 500), unknown parameters are ignored, and the snake_case spellings still work."""

import pytest

from analytics.tests.conftest import RANGE
from analytics.tests.test_api import ALL_ENDPOINTS, BASE, JSON_ENDPOINTS, get_data

pytestmark = pytest.mark.django_db


def _error(response, status=400):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]
    return body


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_unknown_parameters_are_ignored(admin_client, dataset, path):
    plain = get_data(admin_client, path, RANGE)
    assert get_data(admin_client, path, {**RANGE, "colour": "blue", "limit": "x", "_": "1700000000"}) == plain


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_snake_case_dates_mean_the_same_range(admin_client, dataset, path):
    snake = {"start_date": RANGE["startDate"], "end_date": RANGE["endDate"]}
    assert get_data(admin_client, path, snake) == get_data(admin_client, path, RANGE)


def test_padded_dates_are_read_as_the_day(admin_client, dataset):
    padded = {"startDate": f" {RANGE['startDate']}", "endDate": f"{RANGE['endDate']} "}
    assert get_data(admin_client, "/analytics/overview", padded) == get_data(admin_client, "/analytics/overview", RANGE)


def test_camel_case_date_wins_over_snake_case(admin_client, dataset):
    data = get_data(admin_client, "/analytics/overview", {**RANGE, "start_date": "2020-01-01"})
    assert data["dateRange"]["startDate"] == RANGE["startDate"]


@pytest.mark.parametrize(
    "params",
    [
        {"startDate": "12345"},
        {"endDate": "true"},
        {"startDate": "2025-03-01T00:00:00Z"},
        {"period": "7"},
        {"period": "-7d"},
        {"startDate": "\uff12\uff10\uff12\uff15-\uff10\uff13-\uff10\uff11"},  # full-width digits
    ],
)
@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_wrong_type_dates_are_invalid_date_range(admin_client, path, params):
    assert _error(admin_client.get(BASE + path, params))["code"] == "invalid_date_range"


@pytest.mark.parametrize("value", ["year", "1", "DAY ", "day\u200b", "x" * 5000])
@pytest.mark.parametrize("path", ["/analytics/reports/users", "/analytics/export"])
def test_wrong_group_by_is_validation_error(admin_client, path, value):
    params = {**RANGE, "groupBy": value, **({"type": "users"} if path.endswith("export") else {})}
    body = _error(admin_client.get(BASE + path, params))
    assert body["code"] == "validation_error"
    assert body["error"] == "groupBy must be one of day, week, month."
    assert list(body["errors"]) == ["groupBy"]


def test_snake_case_group_by_still_works(admin_client, dataset):
    data = get_data(admin_client, "/analytics/reports/sessions", {**RANGE, "group_by": "week"})
    assert data["groupBy"] == "week"


def test_group_by_is_not_read_for_the_overview_export(admin_client, dataset):
    response = admin_client.get(BASE + "/analytics/export", {**RANGE, "groupBy": "year"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "1"}, "format"),
        ({"format": "csv ", "type": "users"}, "format"),
        ({"type": "0"}, "type"),
    ],
)
def test_wrong_format_or_type_is_validation_error(admin_client, params, field):
    body = _error(admin_client.get(BASE + "/analytics/export", {**RANGE, **params}))
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [field]


def test_format_and_type_are_case_insensitive(admin_client, dataset):
    response = admin_client.get(BASE + "/analytics/export", {**RANGE, "format": "CSV", "type": "Revenue"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode("utf-8-sig").splitlines()[0].startswith("period,revenue_inr")


def test_first_mistake_wins_date_range_before_format(admin_client):
    response = admin_client.get(BASE + "/analytics/export", {"startDate": "nope", "format": "docx"})
    assert _error(response)["code"] == "invalid_date_range"


@pytest.mark.parametrize("params", [{"period": "7d\u0000"}, {"format": "csv\u0000"}, {"groupBy": "\u0000"}])
def test_null_character_is_a_clear_400(admin_client, params):
    body = _error(admin_client.get(BASE + "/analytics/export", params))
    assert body["code"] == "validation_error"


@pytest.mark.parametrize("params", [{"page": "abc"}, {"limit": "1.5"}, {"page": "0"}, {"limit": "-1"}])
def test_assessment_list_wrong_page_is_validation_error(auth_client, params):
    body = _error(auth_client.get(BASE + "/analytics/assessments", params))
    assert body["code"] == "validation_error"
