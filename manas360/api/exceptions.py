"""One exception handler for the whole API (docs/api.md §1, §11).

DRF errors, Django errors and our ApplicationErrors all leave as the same error
envelope with a stable `code`. Whenever this handler builds the response it
marks the transaction for rollback, so a failed request writes nothing.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from manas360.api.envelope import error_body
from manas360.api.errors import (
    ApplicationError,
    DatabaseUnavailable,
    Forbidden,
    InvalidJson,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    ServerError,
    TokenInvalid,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    registered_codes,
)

logger = logging.getLogger("manas360.errors")

# The registered error whose code a DRF exception answers with when it does not carry one of ours.
_DRF_ERRORS: dict[type[drf.APIException], type[ApplicationError]] = {
    drf.ParseError: InvalidJson,
    drf.NotAuthenticated: Unauthorized,
    drf.AuthenticationFailed: TokenInvalid,
    drf.PermissionDenied: Forbidden,
    drf.NotFound: NotFound,
    drf.MethodNotAllowed: MethodNotAllowed,
    drf.NotAcceptable: NotAcceptable,
    drf.UnsupportedMediaType: UnsupportedMediaType,
    drf.Throttled: TooManyRequests,
}


def _respond(
    exc_status: int,
    *,
    message: str,
    code: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(message=message, code=code, extra=extra), status=exc_status, headers=headers)


def _validation_errors(detail: object) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            field: [str(item) for item in (value if isinstance(value, list) else [value])]
            for field, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def _first_message(errors: dict[str, list[str]]) -> str:
    for field, messages in errors.items():
        if messages:
            return messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
    return "Invalid input."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    set_rollback()
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable", extra={"error_class": type(exc).__name__})
        exc = DatabaseUnavailable()
    if isinstance(exc, ApplicationError):
        return _respond(exc.status_code, message=exc.message, code=exc.code, extra=exc.extra, headers=exc.headers)
    if isinstance(exc, drf.ValidationError):
        errors = _validation_errors(exc.detail)
        return _respond(400, message=_first_message(errors), code=ValidationFailed.code, extra={"errors": errors})
    if isinstance(exc, DjangoValidationError):
        errors = _validation_errors(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return _respond(400, message=_first_message(errors), code=ValidationFailed.code, extra={"errors": errors})
    if isinstance(exc, DjangoPermissionDenied):
        return _respond(403, message=Forbidden.default_message, code=Forbidden.code)
    if isinstance(exc, drf.APIException):
        return _drf_response(exc)
    if isinstance(exc, DataError):
        # A value the database cannot store (e.g. "\u0000" inside free-form JSON): the client's data, not our bug.
        logger.warning("database refused a value", extra={"error_class": type(exc).__name__})
        return _respond(400, message="The request contains a value that cannot be stored.", code=ValidationFailed.code)
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return _respond(500, message=ServerError.default_message, code=ServerError.code)
    return None  # unexpected: let it propagate to ApiBoundaryMiddleware, which logs it and answers 500


def _drf_response(exc: drf.APIException) -> Response:
    detail_code = getattr(exc.detail, "code", None)
    code = detail_code if detail_code in registered_codes() else None
    for exc_class, error in _DRF_ERRORS.items():
        if code is None and isinstance(exc, exc_class):
            code = error.code
    code = code or "error"
    message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else "Request failed."
    headers: dict[str, str] = {}
    extra: dict[str, object] = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait is not None:
        retry_after = max(int(wait + 0.999), 1)
        headers["Retry-After"] = str(retry_after)
        extra["retry_after"] = retry_after
        message = TooManyRequests.default_message
    if isinstance(exc, drf.ParseError):
        message = InvalidJson.default_message
    if isinstance(exc, drf.MethodNotAllowed):
        message = str(exc.detail)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    return _respond(exc.status_code, message=message, code=code, extra=extra, headers=headers)
