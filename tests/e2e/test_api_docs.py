"""The API's documentation is a product too: the OpenAPI schema describes the error envelope and every error
code (docs/api.md §1, §11), and the Postman collection covers every endpoint with the sign-in flow
scripted."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from manas360.api.openapi import error_catalogue
from manas360.api.openapi_operations import schema_operations
from manas360.management.commands.export_postman import generate_schema

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "subscriptions", "payments", "rooms", "analytics", "staff", "manas360")
COMMITTED_COLLECTION = ROOT / "docs" / "manas360.postman_collection.json"

# docs/api.md §11, "Generic error codes", verbatim.
API_MD_GENERIC = [
    "validation_error",
    "invalid_json",
    "not_authenticated",
    "token_expired",
    "token_invalid",
    "session_revoked",
    "account_suspended",
    "permission_denied",
    "csrf_failed",
    "origin_not_allowed",
    "admin_mfa_required",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "throttled",
    "server_error",
    "service_unavailable",
]
# Codes named elsewhere in docs/api.md (§2-§8, §11).
API_MD_NAMED = [
    "otp_resend_too_soon",
    "otp_invalid",
    "otp_expired",
    "otp_attempts_exceeded",
    "admin_must_use_admin_login",
    "invalid_credentials",
    "too_many_attempts",
    "mfa_invalid_code",
    "mfa_code_reused",
    "mfa_token_invalid",
    "refresh_reuse_detected",
    "field_not_allowed",
    "email_taken",
    "no_active_subscription",
    "already_cancelled",
    "plan_not_found",
    "amount_mismatch",
    "gateway_unavailable",
    "invalid_signature",
    "subscription_required",
    "feature_not_available",
    "session_already_ended",
    "not_a_therapist",
    "invalid_date_range",
    "api_version_retired",
]


@pytest.fixture(scope="module")
def schema():
    return generate_schema()


def _codes_in_source() -> set[str]:
    found = set()
    for app in APPS:
        for source in (ROOT / app).rglob("*.py"):
            if "tests" in source.parts or "migrations" in source.parts:
                continue
            found.update(re.findall(r'\bcode\s*=\s*"([a-z][a-z_]+)"', source.read_text()))
    return found - {"bad_request", "conflict", "bad_gateway"}  # base-class placeholders, never sent


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 specification
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/users/me" in schema["paths"]


def test_error_envelope_component(schema):
    envelope = schema["components"]["schemas"]["ErrorResponse"]
    assert set(envelope["required"]) == {"success", "message", "error", "code", "requestId"}
    properties = envelope["properties"]
    assert properties["error"]["type"] == "string"
    assert properties["errors"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert {"attemptsLeft", "retryAfter", "requiredFeature", "currentPlan"} <= set(properties)


def test_every_error_code_is_documented(schema):
    documented = set(schema["components"]["schemas"]["ErrorResponse"]["properties"]["code"]["enum"])
    description = schema["info"]["description"]
    expected = set(API_MD_GENERIC) | set(API_MD_NAMED) | _codes_in_source()
    assert expected - documented == set()
    for code in expected:
        assert f"`{code}`" in description, code
    for status, codes in error_catalogue().items():
        response_text = schema["components"]["responses"][f"Error{status}"]["description"]
        for code in codes:
            assert f"`{code}`" in response_text
    catalogued = {code for codes in error_catalogue().values() for code in codes}
    assert set(API_MD_GENERIC) <= catalogued


def test_every_operation_documents_its_errors(schema):
    for path, method, operation in schema_operations(schema):
        responses = operation["responses"]
        refs = {status: value.get("$ref") for status, value in responses.items() if status.startswith(("4", "5"))}
        assert "400" in refs, (method, path)
        assert "500" in refs, (method, path)
        assert "429" in refs, (method, path)
        needs_sign_in = operation.get("security") and {} not in operation["security"]
        if needs_sign_in:
            assert refs.get("401") == "#/components/responses/Error401", (method, path)


def test_bearer_or_cookie_are_alternatives(schema):
    me = schema["paths"]["/api/v1/users/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    themes = schema["paths"]["/api/v1/themed-rooms/themes"]["get"]  # optional auth
    assert themes["security"] == [{"bearerAuth": []}, {"cookieAuth": []}, {}]


def test_request_bodies_list_every_field(schema):
    def fields(path):
        ref = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return set(schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])

    assert fields("/api/v1/auth/send-otp") == {"phoneNumber", "phone", "email"}
    assert {"email", "otp"} <= fields("/api/v1/auth/verify-otp")
    assert fields("/api/v1/auth/admin-login") == {"email", "password"}
    assert fields("/api/v1/auth/admin-login/verify-mfa") == {"mfaToken", "mfaCode"}
    assert fields("/api/v1/admin/mfa/enable") == {"secret", "mfaCode"}


@pytest.mark.django_db
def test_served_schema_has_the_error_envelope(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    served = json.loads(response.content)
    assert "ErrorResponse" in served["components"]["schemas"]
    assert "## Errors" in served["info"]["description"]


def _requests(items):
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def _endpoints(collection) -> set[tuple[str, str]]:
    found = set()
    for item in _requests(collection["item"]):
        raw = item["request"]["url"]["raw"].removeprefix("{{baseUrl}}").split("?", 1)[0]
        found.add((item["request"]["method"].lower(), re.sub(r":([A-Za-z_]+)", r"{\1}", raw)))
    return found


def test_export_postman_covers_every_endpoint_with_the_sign_in_flow(schema, tmp_path):
    output = tmp_path / "collection.json"
    call_command("export_postman", "--output", str(output), "--base-url", "http://api.test:5000")
    collection = json.loads(output.read_text())

    assert collection["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    variables = {variable["key"]: variable["value"] for variable in collection["variable"]}
    assert variables["baseUrl"] == "http://api.test:5000"
    assert variables["accessToken"] == ""
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}],
    }
    wanted = {(method, path) for path, method, _ in schema_operations(schema)}
    assert wanted - _endpoints(collection) == set()

    sign_in = collection["item"][0]
    assert sign_in["name"] == "Sign in"
    verify = next(item for item in sign_in["item"] if item["request"]["url"]["raw"].endswith("/auth/verify-otp"))
    script = "\n".join(verify["event"][0]["script"]["exec"])
    assert verify["event"][0]["listen"] == "test"
    assert "(body.data || {}).tokens" in script
    assert 'pm.collectionVariables.set("accessToken", tokens.accessToken)' in script
    assert verify["request"]["auth"] == {"type": "noauth"}
    assert json.loads(verify["request"]["body"]["raw"]) == {"phone": "{{phone}}", "otp": "{{otp}}"}
    # Authenticated requests inherit the collection's bearer auth; public ones send none.
    me = next(item for item in _requests(collection["item"]) if item["name"] == "GET /users/me")
    assert "auth" not in me["request"]
    send = next(item for item in _requests(collection["item"]) if item["name"] == "POST /auth/send-otp")
    assert send["request"]["auth"] == {"type": "noauth"}
    # Deterministic: a second export is byte-identical.
    again = tmp_path / "again.json"
    call_command("export_postman", "--output", str(again), "--base-url", "http://api.test:5000")
    assert again.read_text() == output.read_text()


def test_committed_collection_is_current(schema):
    """docs/manas360.postman_collection.json has every endpoint of the schema (else: `make postman`)."""
    committed = json.loads(COMMITTED_COLLECTION.read_text())
    wanted = {(method, path) for path, method, _ in schema_operations(schema)}
    missing = wanted - _endpoints(committed)
    assert not missing, f"run `make postman`; missing: {sorted(missing)}"
