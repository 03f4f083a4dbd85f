"""OpenAPI: the error envelope and every error code (docs/api.md §1, §11), added by a drf-spectacular hook.

`error_envelope_hook` (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds:

* `components.schemas.ErrorResponse`: `{success: false, message, error, code, errors?, requestId}` plus the
  machine-readable extras (`attemptsLeft`, `retryAfter`, `requiredFeature`, `currentPlan`);
* `components.responses.Error<status>` for each status the API answers with an error, whose description lists
  the codes of that status;
* on every operation, the error responses it can give (400, 401 when it needs a sign-in, 403, 404, 405, 409, 413,
  415, 429, 500, 503; existing entries are kept) — each referencing the envelope;
* a table of all codes by status in `info.description`.

The codes come from `error_catalogue()`, which is the registry of error classes (`manas360.api.errors`): the
generic codes of docs/api.md §11 and every app's `errors.py`, each with its `status_code` (and
`other_status_codes`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from manas360.api.errors import codes_by_status

STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
}

EXTRA_FIELDS = {
    "attemptsLeft": {"type": "integer", "description": "OTP tries left (`otp_invalid`)."},
    "retryAfter": {"type": "integer", "description": "Seconds to wait (429s); also the `Retry-After` header."},
    "requiredFeature": {"type": "string", "description": "Entitlement needed (`subscription_required`, ...)."},
    "currentPlan": {"type": "string", "nullable": True, "description": "The caller's plan, when relevant."},
}


def error_catalogue() -> dict[int, list[str]]:
    """Every error code the API can answer with, by HTTP status (sorted): the registry of error classes."""
    return codes_by_status()


def _error_schema(all_codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Every error (docs/api.md §1): `error` repeats `message` as a string (the admin UI shows it).",
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string", "description": "Human-readable text."},
            "error": {"type": "string", "description": "The same text as `message`."},
            "code": {"type": "string", "enum": all_codes, "description": "Stable snake_case code (see the list)."},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "Per-field messages (`validation_error`).",
            },
            "requestId": {"type": "string", "description": "Also in the `X-Request-ID` response header."},
            **EXTRA_FIELDS,
        },
        "required": ["success", "message", "error", "code", "requestId"],
        "example": {
            "success": False,
            "message": "The code is not correct.",
            "error": "The code is not correct.",
            "code": "otp_invalid",
            "attemptsLeft": 4,
            "requestId": "5f0c6c2a4e8b4f3f9d0d7c1e2a3b4c5d",
        },
    }


def _codes_text(codes: list[str]) -> str:
    return ", ".join(f"`{code}`" for code in codes)


def _needs_sign_in(operation: dict[str, Any]) -> bool:
    security = operation.get("security") or []
    return bool(security) and {} not in security


def _statuses_for(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [400]
    if _needs_sign_in(operation):
        statuses.append(401)
    statuses += [403]
    if "{" in path or method != "get":
        statuses.append(404)
    statuses.append(405)
    if method in ("post", "put", "patch", "delete"):
        statuses += [409, 413, 415]
    statuses += [429, 500, 503]
    return statuses


def error_envelope_hook(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    catalogue = error_catalogue()
    all_codes = sorted({code for codes in catalogue.values() for code in codes})
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorResponse"] = _error_schema(all_codes)
    responses = components.setdefault("responses", {})
    for status, codes in catalogue.items():
        title = STATUS_TITLES.get(status, "Error")
        responses[f"Error{status}"] = {
            "description": f"{title}. Codes: {_codes_text(codes)}.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        }
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(operation, dict):
                continue
            op_responses = operation.setdefault("responses", {})
            for status in _statuses_for(path, method, operation):
                if str(status) not in op_responses and status in catalogue:
                    op_responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    table = "\n".join(
        f"| {status} {STATUS_TITLES.get(status, '')} | {_codes_text(codes)} |" for status, codes in catalogue.items()
    )
    info = result.setdefault("info", {})
    info["description"] = (
        f"{settings.SPECTACULAR_SETTINGS.get('DESCRIPTION', '')}\n\n"
        "## Errors\n\nEvery error answers JSON `ErrorResponse`: "
        '`{"success": false, "message", "error", "code", "errors"?, "requestId"}`; machine-readable extras '
        "(`attemptsLeft`, `retryAfter`, `requiredFeature`, `currentPlan`) sit at the top level. 429 answers carry "
        "`Retry-After`. Codes by status (409s and domain codes are named per endpoint in docs/):\n\n"
        f"| status | codes |\n|---|---|\n{table}\n"
    )
    return result
