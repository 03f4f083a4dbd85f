"""docs/web-client.md "Transport": the transport rules every one of the app's calls depends on."""

import pytest
from django.test import Client

from tests.web_client.conftest import ORIGIN

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "requested_headers"),
    [
        ("POST", "/api/v1/auth/send-otp", "content-type"),
        ("GET", "/api/v1/users/me", "x-csrf-token"),
        ("POST", "/api/v1/auth/logout", "content-type,x-csrf-token"),
        ("PATCH", "/api/v1/themed-rooms/sessions/x/end", "content-type,x-csrf-token"),
        ("PUT", "/api/v1/admin/users/x/suspend", "x-csrf-token"),
        ("DELETE", "/api/v1/admin/users/x/suspend", "x-csrf-token"),
    ],
)
def test_preflight_allows_the_app_origin_credentials_and_headers(method, path, requested_headers):
    response = Client().options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=requested_headers,
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN  # exact origin, never *
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed_headers = response["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed_headers
    assert "x-csrf-token" in allowed_headers
    assert method in response["Access-Control-Allow-Methods"]


def test_actual_responses_carry_cors_headers(patient_app):
    response = patient_app.get("/users/me")
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"


def test_other_origins_get_no_cors_headers():
    response = Client().options(
        "/api/v1/auth/send-otp", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_the_app_never_sends_an_authorization_header(patient_app, admin_app):
    for app in (patient_app, admin_app):
        assert app.sent
        for request in app.sent:
            assert "HTTP_AUTHORIZATION" not in request["headers"]
        assert "HTTP_AUTHORIZATION" not in app.browser.defaults


def test_a_cookie_write_without_the_csrf_header_changes_nothing(patient_app):
    response = patient_app.browser.patch(
        "/api/v1/users/me", data='{"firstName": "Mallory"}', content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert patient_app.get("/users/me").json()["data"]["firstName"] != "Mallory"


def test_errors_are_json_with_message_and_error_strings(patient_app):
    response = patient_app.get("/no-such-route")
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["message"] == body["error"]
    assert isinstance(body["error"], str)
