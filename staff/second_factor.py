"""Staff sign-in to the Django admin site with the admin's API TOTP secret (accounts.mfa).

Password and code are checked by the API's own services, so the admin site is no way around the API's
per-IP admin-login limit, lockout (5 failures in 15 minutes), TOTP replay guard, suspension check or audit rows
(`auth.admin_login.success|failure`, `auth.mfa.failure`, `auth.lockout`).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest

from accounts.audit import audit_context_from_request
from accounts.errors import (
    AccountSuspended,
    InvalidCredentials,
    MfaCodeReused,
    MfaInvalidCode,
    MfaTokenInvalid,
    TooManyAttempts,
)
from accounts.mfa import admin_login, admin_verify_mfa
from accounts.models import AuthSession, User
from accounts.sessions import session_revoke
from accounts.throttling import AdminLoginIpThrottle
from staff.selectors import parse_uuid

GENERIC_ERROR = "Please enter the email, password and authentication code of a staff account."
NOT_ENROLLED = (
    "Set up two-factor authentication first: Settings in the web admin, or ask an operator to run "
    "`manage.py staff_enroll_totp <email>`."
)


@dataclass
class StaffSignInRefused(Exception):
    message: str
    code: str = "invalid_login"


def staff_sign_in(
    *, email: str, password: str, code: str, request: HttpRequest | None, now: datetime
) -> tuple[User, uuid.UUID]:
    """(user, AuthSession id) for an active admin with is_staff and a correct TOTP or backup code."""
    context = audit_context_from_request(request) if request is not None else {}
    ip_limit = AdminLoginIpThrottle()  # the API's admin-login limit per IP, same counter (docs/api.md §10)
    if request is not None and not ip_limit.allow_request(request, None):
        minutes = max(1, round((ip_limit.wait() or 60) / 60))
        raise StaffSignInRefused(
            f"Too many sign-in attempts from this network. Try again in about {minutes} minutes.", "throttled"
        )
    try:
        result = admin_login(email=email, password=password, now=now, **context)
    except TooManyAttempts as locked:
        minutes = max(1, round(int(locked.extra.get("retry_after", 900)) / 60))
        raise StaffSignInRefused(
            f"Too many failed attempts. Try again in about {minutes} minutes.", "too_many_attempts"
        ) from None
    except (InvalidCredentials, AccountSuspended):
        raise StaffSignInRefused(GENERIC_ERROR) from None
    if result.mfa_token is None:
        # Password right but no authenticator enrolled: the API gave a restricted session; close it.
        if result.issued is not None:
            session_revoke(session_id=result.issued.session.pk, reason="admin_site_mfa_not_enrolled", now=now)
        raise StaffSignInRefused(NOT_ENROLLED, "mfa_not_enrolled")
    try:
        issued = admin_verify_mfa(mfa_token=result.mfa_token, mfa_code=(code or "").strip(), now=now, **context)
    except TooManyAttempts as locked:
        minutes = max(1, round(int(locked.extra.get("retry_after", 900)) / 60))
        raise StaffSignInRefused(
            f"Too many failed attempts. Try again in about {minutes} minutes.", "too_many_attempts"
        ) from None
    except MfaCodeReused:
        raise StaffSignInRefused("This code was already used. Wait for the next one.", "mfa_code_reused") from None
    except (MfaInvalidCode, MfaTokenInvalid):
        raise StaffSignInRefused(GENERIC_ERROR) from None
    user = result.user
    if not user.is_staff:
        session_revoke(session_id=issued.session.pk, reason="admin_site_not_staff", now=now)
        raise StaffSignInRefused(GENERIC_ERROR)
    return user, issued.session.pk


def staff_session_is_live(*, request: HttpRequest, user: User, session_id: object) -> bool:
    """The anchoring AuthSession exists, belongs to `user`, completed MFA and is not revoked (memoised)."""
    cached = getattr(request, "_staff_session_live", None)
    if cached is not None:
        return bool(cached)
    pk = parse_uuid(session_id)
    live = bool(pk and AuthSession.objects.live().filter(pk=pk, user_id=user.pk, mfa_completed=True).exists())
    request._staff_session_live = live  # type: ignore[attr-defined]  # memoised for this request only
    return live


def staff_sign_out(*, session_id: object, now: datetime) -> None:
    pk = parse_uuid(session_id)
    if pk:
        session_revoke(session_id=pk, reason="admin_site_logout", now=now)
