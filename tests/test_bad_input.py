"""No client mistake is a 500 (docs/api.md: a client mistake gets a clear 4xx and loses nothing).

Every write endpoint receives bodies of the wrong shape, and every endpoint with an id receives ids of
the wrong shape, as a patient and as an admin with completed MFA. Each answer must be a JSON 4xx.
"""

import json
import uuid

import pytest

pytestmark = pytest.mark.django_db

WRITE_ENDPOINTS = [
    ("post", "/api/v1/auth/send-otp"),
    ("post", "/api/v1/auth/verify-otp"),
    ("post", "/api/v1/auth/admin-login"),
    ("post", "/api/v1/auth/admin-login/verify-mfa"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/admin/mfa/enable"),
    ("post", "/api/v1/admin/mfa/disable"),
    ("patch", "/api/v1/users/me"),
    ("post", "/api/v1/users/me/email-change"),
    ("post", "/api/v1/users/me/email-change/confirm"),
    ("post", "/api/v1/subscriptions/cancel"),
    ("post", "/api/v1/subscriptions/upgrade"),
    ("post", "/api/v1/payments/create"),
    ("post", "/api/v1/themed-rooms/sessions"),
    ("post", "/api/v1/analytics/assessments"),
    ("patch", "/api/v1/admin/users/{user}"),
    ("patch", "/api/v1/admin/therapists/{user}/verify"),
]

WRONG_BODIES = [
    "[]",
    "[1, 2, 3]",
    "42",
    '"text"',
    "null",
    "true",
    json.dumps({"email": ["a"], "phone": {"x": 1}, "otp": 123456, "planId": ["premium_monthly"], "themeId": 7}),
    json.dumps({"firstName": {"nested": True}, "timezone": 5, "rating": "five", "moodBefore": [3]}),
    json.dumps({"planId": None, "amount": "NaN", "themeId": None, "mfaCode": None, "mfaToken": 12}),
    json.dumps({"amount": 1e308, "timerSeconds": -1, "type": "PHQ9", "score": 10**30, "verified": "maybe"}),
    json.dumps({"email": "x" * 5000, "refreshToken": "y" * 5000, "reason": "z" * 100000}),
    json.dumps({"email": "a\u0000@example.com", "firstName": "\u0000", "feedback": "nul\u0000", "otp": "12\u00003"}),
    json.dumps({"themeId": "forest", "sessionData": {"note": "\u0000"}, "deviceInfo": {"k\u0000": 1}}),
]

ID_ENDPOINTS = [
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/subscriptions/{id}/cancel"),
    ("get", "/api/v1/payments/{id}"),
    ("post", "/api/v1/admin/payments/{id}/refund"),
    ("get", "/api/v1/themed-rooms/themes/{id}"),
    ("get", "/api/v1/themed-rooms/sessions/{id}"),
    ("patch", "/api/v1/themed-rooms/sessions/{id}/end"),
    ("get", "/api/v1/analytics/reports/{id}"),
    ("get", "/api/v1/admin/users/{id}"),
    ("put", "/api/v1/admin/users/{id}/suspend"),
    ("delete", "/api/v1/admin/users/{id}/suspend"),
    ("patch", "/api/v1/admin/therapists/{id}/verify"),
    ("patch", "/api/v1/admin/subscriptions/{id}/cancel"),
]

WRONG_IDS = ["not-a-uuid", "123", str(uuid.uuid4()), "%00", "' OR 1=1 --", "x" * 300, "..%2F..%2Fetc"]

QUERY_ENDPOINTS = [
    "/api/v1/themed-rooms/themes",
    "/api/v1/subscriptions",
    "/api/v1/payments",
    "/api/v1/analytics/overview",
    "/api/v1/analytics/dashboard",
    "/api/v1/analytics/export",
    "/api/v1/admin/users",
    "/api/v1/admin/subscriptions",
    "/api/v1/admin/payments",
    "/api/v1/admin/audit-logs",
    "/api/v1/admin/therapists",
]

WRONG_QUERIES = [
    "page=-1",
    "limit=abc",
    "startDate=2026-02-30&endDate=2026-01-01",
    "period=forever",
    "from=yesterday&to=0",
    "sortBy=password&order=sideways",
    "status=%00&role=god&tier=ultra&verified=perhaps",
    "format=exe&type=everything",
    "groupBy=century&search=" + "%25" * 500,
    "search=a%00b&category=%00",
]


def assert_json_client_error(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["success"] is False
        assert body["code"]


@pytest.fixture(params=["patient", "admin"])
def caller(request, auth_client, admin_client):
    return auth_client if request.param == "patient" else admin_client


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", WRONG_BODIES)
def test_write_endpoints_refuse_bodies_of_the_wrong_shape(caller, user, method, path, body):
    response = getattr(caller, method)(path.format(user=user.pk), data=body, content_type="application/json")
    assert_json_client_error(response)


@pytest.mark.parametrize(("method", "path"), ID_ENDPOINTS)
@pytest.mark.parametrize("bad_id", WRONG_IDS)
def test_id_endpoints_refuse_ids_of_the_wrong_shape(caller, method, path, bad_id):
    url = path.format(id=bad_id)
    if method in ("get", "delete"):
        response = getattr(caller, method)(url)
    else:
        response = getattr(caller, method)(url, data="{}", content_type="application/json")
    assert_json_client_error(response)


@pytest.mark.parametrize("path", QUERY_ENDPOINTS)
@pytest.mark.parametrize("query", WRONG_QUERIES)
def test_list_endpoints_refuse_query_strings_of_the_wrong_shape(caller, path, query):
    assert_json_client_error(caller.get(f"{path}?{query}"))


def test_nul_inside_free_form_json_is_a_400_and_starts_no_session(auth_client):
    from rooms.models import RoomSession
    from rooms.tests.factories import ThemeFactory

    theme = ThemeFactory(tier="free")
    body = {"themeId": theme.slug, "sessionData": {"note": "breathing \u0000 exercise"}}
    response = auth_client.post("/api/v1/themed-rooms/sessions", data=body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not RoomSession.objects.exists()
