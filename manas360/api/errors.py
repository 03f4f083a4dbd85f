"""Typed domain errors. App code raises these; the exception handler renders them."""

from rest_framework import status


class ApplicationError(Exception):
    """An expected failure with a stable snake_case `code` (docs/api.md §11).

    `extra` holds machine-readable details (attemptsLeft, retryAfter, ...) that
    are placed at the top level of the error body.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message=None, *, code=None, status_code=None, extra=None, headers=None):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)


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

    def __init__(self, message=None, *, retry_after: int, code=None, extra=None):
        extra = {"retry_after": retry_after, **(extra or {})}
        super().__init__(message, code=code, extra=extra, headers={"Retry-After": str(retry_after)})


class ValidationFailed(ApplicationError):
    code = "validation_error"
    default_message = "Invalid input."

    def __init__(self, message=None, *, errors=None, code=None):
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
