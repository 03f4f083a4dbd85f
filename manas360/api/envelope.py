"""The response envelope of docs/api.md §1, shared by views, the handler and middleware."""

from typing import Any

from django.http import JsonResponse

from manas360.api.errors import ApplicationError
from manas360.request_context import current_request_id


def error_body(*, message: str, code: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message, "error": message, "code": code}
    body.update(extra or {})
    body["request_id"] = current_request_id()
    return body


def application_error_json_response(error: ApplicationError) -> JsonResponse:
    """`error_json_response` for an ApplicationError, outside DRF."""
    return error_json_response(status=error.status_code, message=error.message, code=error.code, extra=error.extra)


def error_json_response(*, status: int, message: str, code: str, extra: dict[str, Any] | None = None) -> JsonResponse:
    """An error answer for code that runs outside DRF (middleware, URL resolver).

    Keys are written camelCase directly because no DRF renderer runs here.
    """
    body = error_body(message=message, code=code, extra=extra)
    body["requestId"] = body.pop("request_id")
    return JsonResponse(body, status=status)
