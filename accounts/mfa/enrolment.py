"""MFA enrolment of an admin: status, generate a secret, enable with a first code, disable."""

import base64
import io
from datetime import datetime
from typing import Any

import pyotp
import qrcode
from django.conf import settings
from django.db import transaction

from accounts.audit import audit_log_record
from accounts.errors import (
    InvalidCredentials,
    MfaAlreadyEnabled,
    MfaCodeReused,
    MfaInvalidCode,
    MfaNotEnabled,
    MfaSetupRequired,
)
from accounts.mfa.at_rest import decrypt_secret, encrypt_secret
from accounts.mfa.codes import (
    BACKUP_CODE_COUNT,
    TOTP_INTERVAL,
    check_device_code,
    hash_backup_code,
    new_backup_code,
    totp_match_step,
)
from accounts.mfa.lockout import ensure_not_locked, fail_and_raise
from accounts.models import AuthSession, MfaBackupCode, MfaDevice, User
from accounts.sessions import sessions_revoke_for_user
from manas360.api.errors import ValidationFailed


def mfa_status(*, user: User) -> dict[str, Any]:
    device = MfaDevice.objects.filter(user=user).first()
    if device is None or not device.is_enabled:
        pending = bool(device is not None and device.pending_secret_encrypted)
        return {"mfa_enabled": False, "enabled_at": None, "backup_codes_remaining": 0, "pending_setup": pending}
    return {
        "mfa_enabled": True,
        "enabled_at": device.enabled_at,
        "backup_codes_remaining": device.backup_codes.filter(used_at__isnull=True).count(),
        "pending_setup": False,
    }


def _qr_data_url(uri: str) -> str:
    image = qrcode.make(uri)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@transaction.atomic
def mfa_generate_secret(*, user: User, now: datetime) -> dict[str, Any]:
    device, _ = MfaDevice.objects.select_for_update().get_or_create(user=user)
    if device.is_enabled:
        raise MfaAlreadyEnabled("MFA is already enabled. Disable it first to enrol a new authenticator.")
    secret = pyotp.random_base32()
    backup_codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    device.pending_secret_encrypted = encrypt_secret(secret)
    device.pending_backup_code_hashes = [hash_backup_code(code) for code in backup_codes]
    device.pending_created_at = now
    device.save(update_fields=["pending_secret_encrypted", "pending_backup_code_hashes", "pending_created_at"])
    uri = pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=user.email or str(user.pk), issuer_name=settings.MFA_ISSUER_NAME
    )
    return {"secret": secret, "otpauth_url": uri, "qr_code": _qr_data_url(uri), "backup_codes": backup_codes}


def mfa_enable(
    *,
    user: User,
    session: AuthSession | None,
    mfa_code: object,
    now: datetime,
    secret: str | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> None:
    if not isinstance(mfa_code, str) or not mfa_code.strip():
        raise ValidationFailed("Enter the code from your authenticator app.", errors={"mfaCode": ["Required."]})
    outcome = _mfa_enable(user=user, session=session, code=mfa_code.strip(), secret=secret, now=now)
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
def _mfa_enable(*, user: User, session: AuthSession | None, code: str, secret: str | None, now: datetime) -> str:
    device = MfaDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.is_enabled:
        raise MfaAlreadyEnabled()
    pending = decrypt_secret(device.pending_secret_encrypted) if device else None
    if device is None or not pending:
        raise MfaSetupRequired()
    if secret not in (None, "") and (not isinstance(secret, str) or secret.strip().upper() != pending):
        raise ValidationFailed(
            "The secret does not match the one generated.", errors={"secret": ["Does not match the generated secret."]}
        )
    step = totp_match_step(pending, code, now=now)
    if step is None:
        return "invalid"
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
    *,
    user: User,
    session: AuthSession | None,
    now: datetime,
    mfa_code: str | None = None,
    password: str | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> None:
    has_code = isinstance(mfa_code, str) and mfa_code.strip() != ""
    has_password = isinstance(password, str) and password != ""
    if not has_code and not has_password:
        raise ValidationFailed(
            "Confirm with a current authentication code or your password.",
            errors={"mfaCode": ["Send mfaCode or password."], "password": ["Send mfaCode or password."]},
        )
    ensure_not_locked(user, ip_address, now=now)
    device = MfaDevice.objects.filter(user=user, is_enabled=True).first()
    if device is None:
        raise MfaNotEnabled()
    if has_code:
        outcome = _check_code_locked(user=user, code=(mfa_code or "").strip(), now=now)
        if outcome != "ok":
            fail_and_raise(
                user=user,
                reason=f"disable_{outcome}",
                error=MfaCodeReused() if outcome == "reused" else MfaInvalidCode(),
                ip_address=ip_address,
                user_agent=user_agent,
                audit_action="auth.mfa.failure",
                now=now,
            )
    elif not user.check_password(password):
        fail_and_raise(
            user=user,
            reason="disable_bad_password",
            error=InvalidCredentials("The password is incorrect."),
            ip_address=ip_address,
            user_agent=user_agent,
            audit_action="auth.mfa.failure",
            now=now,
        )
    _mfa_disable(user=user, session=session, now=now)
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
def _check_code_locked(*, user: User, code: str, now: datetime) -> str:
    device = MfaDevice.objects.select_for_update().get(user=user)
    return check_device_code(device=device, code=code, now=now)


@transaction.atomic
def _mfa_disable(*, user: User, session: AuthSession | None, now: datetime) -> None:
    device = MfaDevice.objects.select_for_update().get(user=user)
    device.backup_codes.all().delete()
    device.secret_encrypted = ""
    device.is_enabled = False
    device.enabled_at = None
    device.last_used_step = None
    device.pending_secret_encrypted = ""
    device.pending_backup_code_hashes = []
    device.save()
    sessions_revoke_for_user(
        user=user, reason="mfa_disabled", now=now, except_session_id=session.pk if session else None
    )
