"""The envelope and status codes of docs/api.md §1 and §11, end to end through the middleware stack."""

import json
import logging

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("manas360.tests.probe_urls")]


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["error"] == body["message"]
    assert body["requestId"] == response["X-Request-ID"]
    return body


def test_success_body_is_wrapped_in_the_envelope_with_camel_case_keys(client):
    response = client.post(
        "/api/v1/_probe/echo", data=json.dumps({"displayName": "Asha", "count": 2}), content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json() == {"success": True, "data": {"displayName": "Asha", "count": 2}}


def test_validation_error_names_the_field_in_camel_case(client):
    response = client.post(
        "/api/v1/_probe/echo",
        data=json.dumps({"displayName": "x" * 30, "count": "many"}),
        content_type="application/json",
    )
    body = assert_error(response, 400, "validation_error")
    assert set(body["errors"]) == {"displayName", "count"}


def test_malformed_json_is_invalid_json(client):
    response = client.post("/api/v1/_probe/echo", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid_json")


def test_body_over_one_mebibyte_is_413_before_the_view_runs(client):
    big = json.dumps({"displayName": "a", "count": 1, "pad": "x" * (1024 * 1024)})
    response = client.post("/api/v1/_probe/echo", data=big, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_parser_enforces_the_limit_even_without_content_length():
    from io import BytesIO

    from manas360.api.parsers import LimitedCamelCaseJSONParser, PayloadTooLarge

    chunked_body = BytesIO(json.dumps({"pad": "x" * (1024 * 1024 + 10)}).encode())
    with pytest.raises(PayloadTooLarge):
        LimitedCamelCaseJSONParser().parse(chunked_body)
    assert LimitedCamelCaseJSONParser().parse(BytesIO(b'{"firstName": "A"}')) == {"first_name": "A"}


def test_unsupported_media_type_is_415(client):
    response = client.post("/api/v1/_probe/echo", data="displayName=a", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_405_json(client):
    response = client.delete("/api/v1/_probe/echo")
    assert_error(response, 405, "method_not_allowed")


def test_unknown_route_under_api_is_404_json(client):
    response = client.get("/api/v1/no/such/route")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/users/me", "/api/v2/themes", "/api/", "/api/admin/users"])
def test_paths_outside_v1_are_retired_with_410(client, path):
    response = client.get(path)
    assert_error(response, 410, "api_version_retired")


def test_unhandled_error_is_a_sanitised_500_with_request_id(client, caplog):
    with caplog.at_level(logging.ERROR, logger="manas360.errors"):
        response = client.get("/api/v1/_probe/crash", HTTP_X_REQUEST_ID="trace-500")
    body = assert_error(response, 500, "server_error")
    assert body["requestId"] == "trace-500"
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    assert any(record.request_id == "trace-500" for record in caplog.records)


def test_domain_error_carries_its_code_and_extras_at_top_level(client):
    body = assert_error(client.get("/api/v1/_probe/conflict"), 409, "already_done")
    assert body["currentState"] == "done"


def test_protected_route_without_credentials_is_401(client):
    response = client.get("/api/v1/_probe/protected")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_request_id_is_echoed_when_sane_and_generated_otherwise(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123").headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health", HTTP_X_REQUEST_ID="bad id\nwith newline").headers["X-Request-ID"]
    assert generated != "bad id\nwith newline"
    assert len(generated) == 32


def test_pagination_block_and_clamping(client):
    body = client.get("/api/v1/_probe/numbers?page=2&limit=20").json()
    assert [row["value"] for row in body["data"]] == list(range(21, 41))
    assert body["pagination"] == {"page": 2, "limit": 20, "total": 45, "pages": 3}
    clamped = client.get("/api/v1/_probe/numbers?limit=500").json()
    assert clamped["pagination"]["limit"] == 100
    assert len(clamped["data"]) == 45
    past_the_end = client.get("/api/v1/_probe/numbers?page=9").json()
    assert past_the_end["data"] == []


@pytest.mark.parametrize("query", ["page=abc", "page=0", "limit=-5", "limit=0", "page=1.5"])
def test_bad_pagination_values_are_400(client, query):
    assert_error(client.get(f"/api/v1/_probe/numbers?{query}"), 400, "validation_error")


def test_access_log_line_is_structured_and_has_no_query_string(client, caplog):
    with caplog.at_level(logging.INFO, logger="manas360.access"):
        client.get("/api/v1/_probe/numbers?token=sekret&phone=%2B919876543210", HTTP_X_REQUEST_ID="log-1")
    (record,) = [r for r in caplog.records if r.name == "manas360.access"]
    assert record.request_id == "log-1"
    assert record.method == "GET"
    assert record.route == "api/v1/_probe/numbers"
    assert record.status == 200
    assert record.duration_ms >= 0
    assert "sekret" not in record.path
    assert "9876543210" not in record.path


def test_json_formatter_redacts_secrets_and_phone_numbers():
    from manas360.logging import JsonFormatter

    record = logging.makeLogRecord(
        {
            "msg": "otp sent to +919876543210",
            "levelname": "INFO",
            "name": "x",
            "access_token": "eyJabc",
            "otp": "123456",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["access_token"] == "[redacted]"
    assert line["otp"] == "[redacted]"
    assert "9876543210" not in line["message"]
    assert line["message"].endswith("10")
    hex_id = "727142abca9876543210bf74826371"
    assert json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": hex_id})))["message"] == hex_id


def test_cors_allows_the_configured_origin_with_credentials(client):
    response = client.options(
        "/api/v1/_probe/echo",
        HTTP_ORIGIN="http://localhost:3000",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-csrf-token",
    )
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "x-csrf-token" in response["Access-Control-Allow-Headers"]


def test_cors_ignores_an_unknown_origin(client):
    response = client.get("/api/v1/themed-rooms/themes", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "origin" in response["Vary"].lower()  # the answer depends on the origin: caches must keep them apart


def test_cors_serves_only_the_api(client):
    """Probes, metrics and the admin are never called from the web app's origin: no CORS headers there."""
    response = client.get("/health", HTTP_ORIGIN="http://localhost:3000")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    api = client.get("/api/v1/themed-rooms/themes", HTTP_ORIGIN="http://localhost:3000")
    assert api["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_openapi_schema_and_offline_swagger_ui(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "unpkg" not in html
