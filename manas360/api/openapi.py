"""OpenAPI: the error envelope and every error code (docs/api.md §1, §11), added by a drf-spectacular hook.

`error_envelope_hook` (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds:

* `components.schemas.ErrorResponse`: `{success: false, message, error, code, errors?, requestId}` plus the
  machine-readable extras (`attemptsLeft`, `retryAfter`, `requiredFeature`, `currentPlan`);
* `components.responses.Error<status>` for each status the API answers with an error, whose description lists
  the codes of that status;
* on every operation, the error responses it can give (400, 401 when it needs a sign-in, 403, 404, 405, 409, 413,
  415, 429, 500, 503; existing entries are kept) — each referencing the envelope;
* a table of all codes by status in `info.description`.

The codes come from `error_catalogue()`: the generic codes of docs/api.md §11 plus every `ApplicationError`
subclass of the apps (their class-level `status_code` and `code`) and the few codes raised inline.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from manas360.api.errors import ApplicationError

STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
}

# docs/api.md §11 "Generic error codes", plus the envelope-level codes the middleware and handler emit.
GENERIC_CODES: dict[int, set[str]] = {
    400: {"validation_error", "invalid_json"},
    401: {"not_authenticated", "token_expired", "token_invalid", "session_revoked", "account_suspended"},
    403: {"permission_denied", "csrf_failed", "origin_not_allowed", "admin_mfa_required"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    410: {"api_version_retired"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    429: {"throttled"},
    500: {"server_error"},
    503: {"service_unavailable"},
}

# Codes raised inline (`SomeError(..., code="...")`) rather than as a class attribute.
INLINE_CODES: dict[int, set[str]] = {
    400: {"mfa_setup_required"},
    409: {"mfa_already_enabled", "mfa_not_enabled"},
}

# Placeholders of the base classes: never sent as such.
_BASE_CLASS_CODES = {"bad_request", "conflict", "bad_gateway"}

ERROR_APPS = ("accounts", "subscriptions", "payments", "rooms", "analytics", "staff")

EXTRA_FIELDS = {
    "attemptsLeft": {"type": "integer", "description": "OTP tries left (`otp_invalid`)."},
    "retryAfter": {"type": "integer", "description": "Seconds to wait (429s); also the `Retry-After` header."},
    "requiredFeature": {"type": "string", "description": "Entitlement needed (`subscription_required`, ...)."},
    "currentPlan": {"type": "string", "nullable": True, "description": "The caller's plan, when relevant."},
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_catalogue() -> dict[int, list[str]]:
    """Every error code the API can answer with, by HTTP status (sorted)."""
    for app in ERROR_APPS:
        try:
            import_module(f"{app}.errors")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.errors":
                raise
    codes: dict[int, set[str]] = {status: set(names) for status, names in GENERIC_CODES.items()}
    for status, names in INLINE_CODES.items():
        codes.setdefault(status, set()).update(names)
    for cls in _subclasses(ApplicationError):
        code = getattr(cls, "code", None)
        if code and code not in _BASE_CLASS_CODES:
            codes.setdefault(int(cls.status_code), set()).add(code)
    return {status: sorted(names) for status, names in sorted(codes.items())}


def _error_schema(all_codes: list[str]) -> dict:
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


def _needs_sign_in(operation: dict) -> bool:
    security = operation.get("security")
    return bool(security) and {} not in security


def _statuses_for(path: str, method: str, operation: dict) -> list[int]:
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


def error_envelope_hook(result, generator, request, public):
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
