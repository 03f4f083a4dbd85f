"""Auth error codes (docs/api.md §2, §3, §11). Views raise these; the handler renders the envelope."""

from manas360.api.errors import ApplicationError, Conflict, Forbidden, TokenInvalid, TooManyRequests, Unauthorized

__all__ = ["TokenInvalid"]  # generic (docs/api.md §11), defined with the plumbing; re-exported for auth code


class TokenExpired(Unauthorized):
    code = "token_expired"
    default_message = "The token has expired."


class SessionRevoked(Unauthorized):
    code = "session_revoked"
    default_message = "This session has ended. Please sign in again."


class RefreshReuseDetected(Unauthorized):
    code = "refresh_reuse_detected"
    default_message = "This refresh token was already used. The session has been ended for your safety."


class AccountSuspended(Forbidden):
    """403 when a suspended user tries to sign in; 401 (`status_code=401`) when a request or a refresh carries a
    session of a suspended user, so the web client's refresh-then-sign-out logic runs (docs/api.md §11)."""

    code = "account_suspended"
    other_status_codes = (401,)
    default_message = "This account is suspended."


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"
    default_message = "This origin is not allowed."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    default_message = "CSRF check failed: send the csrf_token cookie value in the X-CSRF-Token header."


class AdminMfaRequired(Forbidden):
    code = "admin_mfa_required"
    default_message = "Complete multi-factor authentication to use the admin area."


class OtpInvalid(ApplicationError):
    code = "otp_invalid"
    default_message = "The code is incorrect."


class OtpExpired(ApplicationError):
    code = "otp_expired"
    default_message = "The code has expired. Please request a new one."


class OtpAttemptsExceeded(ApplicationError):
    status_code = 429
    code = "otp_attempts_exceeded"
    default_message = "Too many wrong codes. Please request a new one."


class OtpResendTooSoon(TooManyRequests):
    code = "otp_resend_too_soon"
    default_message = "Please wait before requesting another code."


class OtpHourlyLimit(TooManyRequests):
    code = "otp_hourly_limit"
    default_message = "Too many codes requested for this number or email. Please try again later."


class OtpDeliveryFailed(ApplicationError):
    status_code = 502
    code = "otp_delivery_failed"
    default_message = "We could not send the code. Please try again shortly."


class OtpDeliveryUnavailable(ApplicationError):
    status_code = 503
    code = "otp_delivery_unavailable"
    default_message = "Sending codes is not available right now. Please try again later."


class AdminMustUseAdminLogin(Forbidden):
    code = "admin_must_use_admin_login"
    default_message = "Admins sign in with email and password at the admin login."


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "Invalid email or password."


class MfaTokenInvalid(Unauthorized):
    code = "mfa_token_invalid"
    default_message = "The sign-in step has expired. Please sign in again."


class MfaInvalidCode(Unauthorized):
    code = "mfa_invalid_code"
    default_message = "The authentication code is incorrect."


class MfaCodeReused(Unauthorized):
    code = "mfa_code_reused"
    default_message = "This authentication code was already used. Wait for the next one."


class TooManyAttempts(TooManyRequests):
    code = "too_many_attempts"
    default_message = "Too many failed attempts. The account is locked for a while."


class FieldNotAllowed(Forbidden):
    code = "field_not_allowed"
    default_message = "These fields cannot be changed here."


class EmailTaken(ApplicationError):
    status_code = 409
    code = "email_taken"
    default_message = "This email address is already in use."


class MfaSetupRequired(ApplicationError):
    code = "mfa_setup_required"
    default_message = "Generate a secret first (POST /admin/mfa/generate-secret)."


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    default_message = "MFA is already enabled."


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    default_message = "MFA is not enabled."


class NotAnAdmin(ApplicationError):
    code = "not_an_admin"
    default_message = "This account is not an admin."
