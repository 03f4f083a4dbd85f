"""Admin sign-in and TOTP MFA (docs/api.md §2 `admin-login`, `verify-mfa`; §7 `/admin/mfa/*`; §11 "Admin MFA").

* Password step: wrong password, unknown email and non-admin look alike (401 `invalid_credentials`).
  Enrolled admins get a single-use 5-minute `mfaToken`; not-enrolled admins get a restricted session
  (MFA step incomplete) that can only enrol.
* Codes: RFC 6238 TOTP (SHA-1, 6 digits, 30 s, ±1 step) from the admin's own secret, stored encrypted
  (Fernet; key from MFA_ENCRYPTION_KEY or derived from SECRET_KEY), or a single-use backup code (SHA-256).
  The last accepted time step is remembered, so a code is never accepted twice (401 `mfa_code_reused`).
* Lockout: 5 failed password or MFA attempts within 15 minutes lock the account for 15 minutes (429
  `too_many_attempts`, audited `auth.lockout`). Failures are committed before the error is raised.
"""

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import qrcode
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError

from accounts.audit import audit_log_record
from accounts.errors import (
    AccountSuspended,
    InvalidCredentials,
    MfaAlreadyEnabled,
    MfaCodeReused,
    MfaInvalidCode,
    MfaNotEnabled,
    MfaSetupRequired,
    MfaTokenInvalid,
    TooManyAttempts,
)
from accounts.models import AuthSession, LoginFailure, MfaBackupCode, MfaChallenge, MfaDevice, User
from accounts.roles import Role
from accounts.sessions import IssuedTokens, session_start, sessions_revoke_for_user
from accounts.tokens import MfaToken, make_mfa_token
from manas360.api.errors import ApplicationError, ValidationFailed

TOTP_INTERVAL = 30
BACKUP_CODE_COUNT = 10


# --- secrets at rest -----------------------------------------------------------------------------------


def _fernet() -> Fernet:
    material = settings.MFA_ENCRYPTION_KEY or f"mfa-secret-encryption:{settings.SECRET_KEY}"
    key = base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())
    return Fernet(key)


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _hash_backup_code(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(settings.SECRET_KEY.encode(), f"backup:{normalised}".encode(), hashlib.sha256).hexdigest()


def _new_backup_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


# --- code checks ---------------------------------------------------------------------------------------


def totp_match_step(secret: str, code: str, *, now=None) -> int | None:
    """The time step (±1 around now) whose TOTP equals `code`, else None (RFC 6238, constant-time compare)."""
    # isascii: str.isdigit() also accepts other scripts' digits, which hmac.compare_digest refuses (TypeError).
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    moment = (now or timezone.now()).timestamp()
    current = int(moment // TOTP_INTERVAL)
    matched = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            matched = step
    return matched


def _check_device_code(*, device: MfaDevice, code: str) -> str:
    """'ok' (TOTP or backup code accepted and recorded), 'reused' or 'invalid'. Caller holds the row lock."""
    code = (code or "").strip()
    secret = decrypt_secret(device.secret_encrypted)
    if secret and code.isdigit() and len(code) == 6:
        step = totp_match_step(secret, code)
        if step is None:
            return "invalid"
        if device.last_used_step is not None and step <= device.last_used_step:
            return "reused"
        device.last_used_step = step
        device.save(update_fields=["last_used_step"])
        return "ok"
    digest = _hash_backup_code(code)
    backup = device.backup_codes.filter(code_hash=digest).first()
    if backup is None:
        return "invalid"
    if backup.used_at is not None:
        return "reused"
    backup.used_at = timezone.now()
    backup.save(update_fields=["used_at"])
    return "ok"


# --- lockout -------------------------------------------------------------------------------------------


def _lock_retry_after(user: User) -> int | None:
    now = timezone.now()
    if user.locked_until and user.locked_until > now:
        return max(int((user.locked_until - now).total_seconds() + 0.999), 1)
    return None


def _ensure_not_locked(user: User) -> None:
    retry_after = _lock_retry_after(user)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)


@transaction.atomic
def _record_failure(*, user: User, reason: str, ip_address, user_agent) -> int | None:
    """Store a failure; lock the account on the threshold. Returns retry_after when this failure locked it."""
    now = timezone.now()
    locked = User.objects.select_for_update().get(pk=user.pk)
    LoginFailure.objects.create(user=locked, created_at=now, reason=reason)
    window_start = now - timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
    if locked.locked_until and locked.locked_until > window_start:
        window_start = locked.locked_until
    failures = LoginFailure.objects.filter(user=locked, created_at__gt=window_start).count()
    if failures < settings.ADMIN_LOCKOUT_THRESHOLD:
        return None
    locked.locked_until = now + timedelta(seconds=settings.ADMIN_LOCKOUT_SECONDS)
    locked.save(update_fields=["locked_until"])
    user.locked_until = locked.locked_until
    audit_log_record(
        action="auth.lockout",
        actor=locked,
        resource_type="user",
        resource_id=locked.pk,
        after={"locked_until": locked.locked_until.isoformat(), "failures": failures},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return settings.ADMIN_LOCKOUT_SECONDS


def _fail(*, user: User, reason: str, error: ApplicationError, ip_address, user_agent, audit_action: str):
    audit_log_record(
        action=audit_action,
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        after={"reason": reason},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    retry_after = _record_failure(user=user, reason=reason, ip_address=ip_address, user_agent=user_agent)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)
    raise error


# --- admin sign-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminLoginResult:
    user: User
    mfa_token: str | None = None
    issued: IssuedTokens | None = None


def admin_login(*, email, password, ip_address=None, user_agent="") -> AdminLoginResult:
    email_value = email.strip().lower() if isinstance(email, str) else ""
    user = User.objects.filter(email=email_value).first() if email_value else None
    if user is None or user.role != Role.ADMIN or user.is_deleted:
        # Same answer (and similar work) as a wrong password: no account enumeration.
        User().set_password(password if isinstance(password, str) else "")
        audit_log_record(
            action="auth.admin_login.failure",
            actor_email=email_value[:254],
            resource_type="user",
            after={"reason": "unknown_or_not_admin"},
            ip_address=ip_address,
            user_agent=user_agent,
        )
        raise InvalidCredentials()
    _ensure_not_locked(user)
    if not isinstance(password, str) or not password or not user.check_password(password):
        _fail(
            user=user,
            reason="bad_password",
            error=InvalidCredentials(),
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.admin_login.failure",
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
            user=user, expires_at=timezone.now() + timedelta(seconds=settings.MFA_TOKEN_TTL_SECONDS)
        )
        return AdminLoginResult(user=user, mfa_token=make_mfa_token(challenge=challenge))
    issued = session_start(user=user, mfa_completed=False, ip_address=ip_address, user_agent=user_agent)
    audit_log_record(
        action="auth.admin_login.success",
        actor=user,
        resource_type="session",
        resource_id=issued.session.pk,
        after={"mfa": "enrollment_required"},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return AdminLoginResult(user=user, issued=issued)


def _challenge_from_token(raw) -> MfaChallenge:
    if not isinstance(raw, str) or not raw:
        raise MfaTokenInvalid()
    try:
        token = MfaToken(raw)
    except TokenError as exc:
        raise MfaTokenInvalid() from exc
    challenge = MfaChallenge.objects.select_related("user").filter(pk=token.get("cid")).first()
    if challenge is None or str(challenge.user_id) != str(token.get("sub")):
        raise MfaTokenInvalid()
    if challenge.used_at is not None or challenge.expires_at <= timezone.now():
        raise MfaTokenInvalid()
    return challenge


def admin_verify_mfa(*, mfa_token, mfa_code, ip_address=None, user_agent="") -> IssuedTokens:
    challenge = _challenge_from_token(mfa_token)
    user = challenge.user
    _ensure_not_locked(user)
    if not user.is_active or user.is_deleted or user.role != Role.ADMIN:
        raise MfaTokenInvalid()
    outcome = _verify_mfa_consume(challenge_id=challenge.pk, code=mfa_code if isinstance(mfa_code, str) else "")
    if outcome == "spent":
        raise MfaTokenInvalid()
    if outcome != "ok":
        error = MfaCodeReused() if outcome == "reused" else MfaInvalidCode()
        _fail(
            user=user,
            reason=f"mfa_{outcome}",
            error=error,
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.mfa.failure",
        )
    issued = session_start(user=user, mfa_completed=True, ip_address=ip_address, user_agent=user_agent)
    audit_log_record(
        action="auth.admin_login.success",
        actor=user,
        resource_type="session",
        resource_id=issued.session.pk,
        after={"mfa": "verified"},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return issued


@transaction.atomic
def _verify_mfa_consume(*, challenge_id, code: str) -> str:
    challenge = MfaChallenge.objects.select_for_update().get(pk=challenge_id)
    if challenge.used_at is not None:
        return "spent"
    device = MfaDevice.objects.select_for_update().filter(user_id=challenge.user_id, is_enabled=True).first()
    if device is None:
        return "spent"
    outcome = _check_device_code(device=device, code=code)
    if outcome == "ok":
        challenge.used_at = timezone.now()
        challenge.save(update_fields=["used_at"])
    return outcome


# --- enrolment -----------------------------------------------------------------------------------------


def mfa_status(*, user: User) -> dict:
    device = MfaDevice.objects.filter(user=user).first()
    enabled = bool(device and device.is_enabled)
    remaining = device.backup_codes.filter(used_at__isnull=True).count() if enabled else 0
    return {
        "mfa_enabled": enabled,
        "enabled_at": device.enabled_at if enabled else None,
        "backup_codes_remaining": remaining,
        "pending_setup": bool(device and not enabled and device.pending_secret_encrypted),
    }


def _qr_data_url(uri: str) -> str:
    image = qrcode.make(uri)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@transaction.atomic
def mfa_generate_secret(*, user: User) -> dict:
    device, _ = MfaDevice.objects.select_for_update().get_or_create(user=user)
    if device.is_enabled:
        raise MfaAlreadyEnabled("MFA is already enabled. Disable it first to enrol a new authenticator.")
    secret = pyotp.random_base32()
    backup_codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    device.pending_secret_encrypted = encrypt_secret(secret)
    device.pending_backup_code_hashes = [_hash_backup_code(code) for code in backup_codes]
    device.pending_created_at = timezone.now()
    device.save(update_fields=["pending_secret_encrypted", "pending_backup_code_hashes", "pending_created_at"])
    uri = pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=user.email or str(user.pk), issuer_name=settings.MFA_ISSUER_NAME
    )
    return {"secret": secret, "otpauth_url": uri, "qr_code": _qr_data_url(uri), "backup_codes": backup_codes}


def mfa_enable(*, user: User, session: AuthSession | None, mfa_code, secret=None, ip_address=None, user_agent=""):
    if not isinstance(mfa_code, str) or not mfa_code.strip():
        raise ValidationFailed("Enter the code from your authenticator app.", errors={"mfaCode": ["Required."]})
    outcome = _mfa_enable(user=user, session=session, code=mfa_code.strip(), secret=secret)
    if outcome != "ok":
        audit_log_record(
            action="auth.mfa.failure",
            actor=user,
            resource_type="user",
            resource_id=user.pk,
            after={"reason": "enable_invalid_code"},
            ip_address=ip_address,
            user_agent=user_agent,
        )
        raise MfaInvalidCode()
    audit_log_record(
        action="auth.mfa.enable",
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        before={"mfa_enabled": False},
        after={"mfa_enabled": True},
        ip_address=ip_address,
        user_agent=user_agent,
    )


@transaction.atomic
def _mfa_enable(*, user, session, code: str, secret) -> str:
    device = MfaDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.is_enabled:
        raise MfaAlreadyEnabled()
    pending = decrypt_secret(device.pending_secret_encrypted) if device else None
    if not pending:
        raise MfaSetupRequired()
    if secret not in (None, "") and (not isinstance(secret, str) or secret.strip().upper() != pending):
        raise ValidationFailed(
            "The secret does not match the one generated.", errors={"secret": ["Does not match the generated secret."]}
        )
    step = totp_match_step(pending, code)
    if step is None:
        return "invalid"
    now = timezone.now()
    device.secret_encrypted = device.pending_secret_encrypted
    device.is_enabled = True
    device.enabled_at = now
    device.last_used_step = step
    hashes = device.pending_backup_code_hashes or []
    device.pending_secret_encrypted = ""
    device.pending_backup_code_hashes = []
    device.pending_created_at = None
    device.save()
    device.backup_codes.all().delete()
    MfaBackupCode.objects.bulk_create([MfaBackupCode(device=device, code_hash=digest) for digest in hashes])
    # Other sessions opened with the password alone (before enrolment) end now: otherwise a password holder
    # who signed in before the owner enrolled keeps a session that can disable MFA with the password.
    others = AuthSession.objects.filter(user=user, revoked_at__isnull=True, mfa_completed=False)
    if session is not None:
        others = others.exclude(pk=session.pk)
    others.update(revoked_at=now, revoked_reason="mfa_enabled")
    if session is not None:
        AuthSession.objects.filter(pk=session.pk).update(mfa_completed=True)
        session.mfa_completed = True
    return "ok"


def mfa_disable(
    *, user: User, session: AuthSession | None, mfa_code=None, password=None, ip_address=None, user_agent=""
):
    has_code = isinstance(mfa_code, str) and mfa_code.strip() != ""
    has_password = isinstance(password, str) and password != ""
    if not has_code and not has_password:
        raise ValidationFailed(
            "Confirm with a current authentication code or your password.",
            errors={"mfaCode": ["Send mfaCode or password."], "password": ["Send mfaCode or password."]},
        )
    _ensure_not_locked(user)
    device = MfaDevice.objects.filter(user=user, is_enabled=True).first()
    if device is None:
        raise MfaNotEnabled()
    if has_code:
        outcome = _check_code_locked(user=user, code=mfa_code.strip())
        if outcome != "ok":
            _fail(
                user=user,
                reason=f"disable_{outcome}",
                error=MfaCodeReused() if outcome == "reused" else MfaInvalidCode(),
                ip_address=ip_address,
                user_agent=user_agent,
                audit_action="auth.mfa.failure",
            )
    elif not user.check_password(password):
        _fail(
            user=user,
            reason="disable_bad_password",
            error=InvalidCredentials("The password is incorrect."),
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.mfa.failure",
        )
    _mfa_disable(user=user, session=session)
    audit_log_record(
        action="auth.mfa.disable",
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        before={"mfa_enabled": True},
        after={"mfa_enabled": False, "confirmed_with": "mfa_code" if has_code else "password"},
        ip_address=ip_address,
        user_agent=user_agent,
    )


@transaction.atomic
def _check_code_locked(*, user, code: str) -> str:
    device = MfaDevice.objects.select_for_update().get(user=user)
    return _check_device_code(device=device, code=code)


@transaction.atomic
def _mfa_disable(*, user, session) -> None:
    device = MfaDevice.objects.select_for_update().get(user=user)
    device.backup_codes.all().delete()
    device.secret_encrypted = ""
    device.is_enabled = False
    device.enabled_at = None
    device.last_used_step = None
    device.pending_secret_encrypted = ""
    device.pending_backup_code_hashes = []
    device.save()
    sessions_revoke_for_user(user=user, reason="mfa_disabled", except_session_id=session.pk if session else None)
