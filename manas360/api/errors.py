"""The registry of error codes: every code the API answers with is one class here or in an app's `errors.py`.

App code raises these; the exception handler renders them, and DRF exceptions that carry one of these codes
(`AuthenticationFailed(..., code=TokenExpired.code)`) pass it through. `registered_errors()` finds every class
(the `errors` module of each installed app is imported first), so the handler's allow-list and the OpenAPI
catalogue of codes are derived from the classes and a code is never spelled twice. A code is defined by exactly
one class (a test checks it); a code answered with more than one status lists the others in
`other_status_codes`.
"""

from collections.abc import Iterator
from functools import cache
from typing import Any

from django.utils.module_loading import autodiscover_modules
from rest_framework import status


class ApplicationError(Exception):
    """An expected failure with a stable snake_case `code` (docs/api.md §11).

    `extra` holds machine-readable details (attemptsLeft, retryAfter, ...) that
    are placed at the top level of the error body.
    """

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    default_message = "The request could not be processed."
    # Other statuses this code is answered with (the class's `status_code` is the usual one).
    other_status_codes: tuple[int, ...] = ()

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApplicationError):
    """A request the HTTP layer refuses (a Host outside ALLOWED_HOSTS, other suspicious requests)."""

    code = "bad_request"
    default_message = "Bad request."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The resource is not in a state that allows this."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class Unauthorized(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_authenticated"
    default_message = "Authentication credentials were not provided."


class TooManyRequests(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"
    default_message = "Too many requests. Please try again later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        extra = {"retry_after": retry_after, **(extra or {})}
        super().__init__(message, code=code, extra=extra, headers={"Retry-After": str(retry_after)})


class ValidationFailed(ApplicationError):
    code = "validation_error"
    default_message = "Invalid input."

    def __init__(
        self, message: str | None = None, *, errors: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, code=code, extra={"errors": errors} if errors else None)


class BadGateway(ApplicationError):
    status_code = status.HTTP_502_BAD_GATEWAY
    code = "bad_gateway"
    default_message = "An upstream service failed."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_message = "A service this request depends on is unavailable. Please retry shortly."


class PayloadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"
    default_message = "The request body is too large (limit 1 MiB)."


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "The service is temporarily unavailable. Please retry shortly."


# --- The generic codes of docs/api.md §11 that are not one of the bases above -----------------------------------


class InvalidJson(ApplicationError):
    code = "invalid_json"
    default_message = "Malformed JSON body."


class TokenInvalid(Unauthorized):
    """Also DRF's fallback for an `AuthenticationFailed` without one of our codes."""

    code = "token_invalid"
    default_message = "The token is invalid."


class MethodNotAllowed(ApplicationError):
    status_code = status.HTTP_405_METHOD_NOT_ALLOWED
    code = "method_not_allowed"
    default_message = "Method not allowed."


class NotAcceptable(ApplicationError):
    status_code = status.HTTP_406_NOT_ACCEPTABLE
    code = "not_acceptable"
    default_message = "Could not satisfy the request Accept header."


class ApiVersionRetired(ApplicationError):
    status_code = status.HTTP_410_GONE
    code = "api_version_retired"
    default_message = "This API version is retired. Use /api/v1/."


class UnsupportedMediaType(ApplicationError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_message = "Unsupported media type."


class ServerError(ApplicationError):
    """Our bug: answered with a sanitised message and the request id, never with details."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    code = "server_error"
    default_message = "Internal server error."


# Bases whose `code` is a placeholder for subclasses: never sent as such.
_PLACEHOLDER_BASES = frozenset({ApplicationError, Conflict, BadGateway})


# --- The registry ------------------------------------------------------------------------------------------------


def _subclasses(cls: type[ApplicationError]) -> Iterator[type[ApplicationError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def registered_errors() -> list[type[ApplicationError]]:
    """Every class that defines a code clients can receive, after each installed app's `errors` module loaded."""
    autodiscover_modules("errors")
    found: list[type[ApplicationError]] = [ApplicationError, *_subclasses(ApplicationError)]
    return [cls for cls in found if "code" in vars(cls) and cls not in _PLACEHOLDER_BASES]


@cache
def registered_codes() -> frozenset[str]:
    """The codes of `registered_errors()`: the exception handler's allow-list for codes carried by DRF errors."""
    return frozenset(cls.code for cls in registered_errors())


def codes_by_status() -> dict[int, list[str]]:
    """Every registered code by HTTP status (sorted), a code answered with several statuses under each."""
    codes: dict[int, set[str]] = {}
    for cls in registered_errors():
        for answered in (cls.status_code, *cls.other_status_codes):
            codes.setdefault(int(answered), set()).add(cls.code)
    return {answered: sorted(names) for answered, names in sorted(codes.items())}
