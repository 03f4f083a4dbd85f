"""Admin sign-in: the password step (`admin-login`) and the MFA step (`verify-mfa`)."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError

from accounts.audit import audit_log_record
from accounts.errors import (
    AccountSuspended,
    InvalidCredentials,
    MfaCodeReused,
    MfaInvalidCode,
    MfaTokenInvalid,
)
from accounts.mfa.codes import check_device_code
from accounts.mfa.lockout import (
    ensure_lookalike_not_locked,
    ensure_not_locked,
    fail_and_raise,
    record_lookalike_failure,
)
from accounts.models import MfaChallenge, MfaDevice, User
from accounts.roles import Role
from accounts.sessions import IssuedTokens, session_start
from accounts.tokens import MfaToken, make_mfa_token


@dataclass(frozen=True)
class AdminLoginResult:
    user: User
    mfa_token: str | None = None
    issued: IssuedTokens | None = None


def admin_login(
    *, email: object, password: object, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> AdminLoginResult:
    email_value = email.strip().lower() if isinstance(email, str) else ""
    user = User.objects.filter(email=email_value).first() if email_value else None
    if user is None or user.role != Role.ADMIN or user.is_deleted:
        # Same answers (and similar work) as for an admin: 401 for a wrong password, 429 once "locked".
        ensure_lookalike_not_locked(email_value, ip_address, now=now)
        User().set_password(password if isinstance(password, str) else "")
        audit_log_record(
            action="auth.admin_login.failure",
            actor_email=email_value[:254],
            resource_type="user",
            after={"reason": "unknown_or_not_admin"},
            ip_address=ip_address,
            user_agent=user_agent,
        )
        record_lookalike_failure(email_value, ip_address, now=now)
        raise InvalidCredentials()
    ensure_not_locked(user, ip_address, now=now)
    if not isinstance(password, str) or not password or not user.check_password(password):
        fail_and_raise(
            user=user,
            reason="bad_password",
            error=InvalidCredentials(),
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.admin_login.failure",
            now=now,
        )
    if not user.is_active:
        audit_log_record(
            action="auth.admin_login.failure",
            actor=user,
            resource_type="user",
            resource_id=user.pk,
            after={"reason": "suspended"},
            ip_address=ip_address,
            user_agent=user_agent,
        )
        raise AccountSuspended()
    device = MfaDevice.objects.filter(user=user, is_enabled=True).first()
    if device is not None:
        challenge = MfaChallenge.objects.create(
            user=user, expires_at=now + timedelta(seconds=settings.MFA_TOKEN_TTL_SECONDS)
        )
        return AdminLoginResult(user=user, mfa_token=make_mfa_token(challenge=challenge))
    issued = _signed_in(user, mfa="enrollment_required", ip_address=ip_address, user_agent=user_agent, now=now)
    return AdminLoginResult(user=user, issued=issued)


def _signed_in(user: User, *, mfa: str, ip_address: str | None, user_agent: str, now: datetime) -> IssuedTokens:
    """Start the admin's session and audit the sign-in; `mfa` is "verified" or "enrollment_required"."""
    issued = session_start(
        user=user, now=now, mfa_completed=mfa == "verified", ip_address=ip_address, user_agent=user_agent
    )
    audit_log_record(
        action="auth.admin_login.success",
        actor=user,
        resource_type="session",
        resource_id=issued.session.pk,
        after={"mfa": mfa},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return issued


def _challenge_from_token(raw: object, *, now: datetime) -> MfaChallenge:
    if not isinstance(raw, str) or not raw:
        raise MfaTokenInvalid()
    try:
        token = MfaToken(raw)  # type: ignore[arg-type]  # the stubs say Token; simplejwt decodes the string
    except TokenError as exc:
        raise MfaTokenInvalid() from exc
    challenge = MfaChallenge.objects.select_related("user").filter(pk=token.get("cid")).first()
    if challenge is None or str(challenge.user_id) != str(token.get("sub")):
        raise MfaTokenInvalid()
    if challenge.used_at is not None or challenge.expires_at <= now:
        raise MfaTokenInvalid()
    return challenge


def admin_verify_mfa(
    *, mfa_token: object, mfa_code: object, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> IssuedTokens:
    challenge = _challenge_from_token(mfa_token, now=now)
    user = challenge.user
    ensure_not_locked(user, ip_address, now=now)
    if not user.is_active or user.is_deleted or user.role != Role.ADMIN:
        raise MfaTokenInvalid()
    outcome = _verify_mfa_consume(
        challenge_id=challenge.pk, code=mfa_code if isinstance(mfa_code, str) else "", now=now
    )
    if outcome == "spent":
        raise MfaTokenInvalid()
    if outcome != "ok":
        error = MfaCodeReused() if outcome == "reused" else MfaInvalidCode()
        fail_and_raise(
            user=user,
            reason=f"mfa_{outcome}",
            error=error,
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.mfa.failure",
            now=now,
        )
    return _signed_in(user, mfa="verified", ip_address=ip_address, user_agent=user_agent, now=now)


@transaction.atomic
def _verify_mfa_consume(*, challenge_id: uuid.UUID, code: str, now: datetime) -> str:
    challenge = MfaChallenge.objects.select_for_update().get(pk=challenge_id)
    if challenge.used_at is not None:
        return "spent"
    device = MfaDevice.objects.select_for_update().filter(user_id=challenge.user_id, is_enabled=True).first()
    if device is None:
        return "spent"
    outcome = check_device_code(device=device, code=code, now=now)
    if outcome == "ok":
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
    return outcome
