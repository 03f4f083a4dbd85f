"""TOTP secrets at rest: MultiFernet over MFA_ENCRYPTION_KEY (newest key first) and re-encryption for key rotation."""

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

from accounts.audit import audit_log_record
from accounts.models import MfaDevice


def _fernet() -> MultiFernet:
    """Encrypts with the newest key, decrypts with any configured one (settings.MFA_ENCRYPTION_KEYS)."""
    return MultiFernet([Fernet(key) for key in settings.MFA_ENCRYPTION_KEYS])


def legacy_fernet() -> Fernet:
    """The key that earlier versions derived from SECRET_KEY when MFA_ENCRYPTION_KEY was unset.

    Used only by `rotate_mfa_encryption_key`, to re-encrypt secrets stored before keys became mandatory.
    """
    material = f"mfa-secret-encryption:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


@dataclass(frozen=True)
class ReencryptionResult:
    reencrypted: int
    unreadable: list[str]  # user ids whose stored secret no configured (or legacy) key opens


def _reencrypt(token: str, *, with_legacy: bool) -> str | None:
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        if not with_legacy:
            return None
    try:
        secret = legacy_fernet().decrypt(token.encode())
    except InvalidToken:
        return None
    return _fernet().encrypt(secret).decode()


def mfa_secrets_reencrypt(*, with_legacy: bool = True) -> ReencryptionResult:
    """Re-encrypt every stored TOTP secret (enrolled and pending) with the newest MFA_ENCRYPTION_KEY.

    Safe to re-run and to interrupt: each device is rewritten in its own transaction under a row lock, and a
    secret already under the newest key is simply encrypted again. Audited once (`auth.mfa.keys_rotated`).
    """
    reencrypted, unreadable = 0, []
    for user_id in MfaDevice.objects.order_by("pk").values_list("user_id", flat=True):
        with transaction.atomic():
            device = MfaDevice.objects.select_for_update().filter(user_id=user_id).first()
            if device is None or not (device.secret_encrypted or device.pending_secret_encrypted):
                continue
            current = _reencrypt(device.secret_encrypted, with_legacy=with_legacy)
            pending = _reencrypt(device.pending_secret_encrypted, with_legacy=with_legacy)
            if current is None or pending is None:
                unreadable.append(str(user_id))
                continue
            device.secret_encrypted, device.pending_secret_encrypted = current, pending
            device.save(update_fields=["secret_encrypted", "pending_secret_encrypted"])
            reencrypted += 1
    audit_log_record(
        action="auth.mfa.keys_rotated",
        resource_type="mfa_device",
        after={"reencrypted": reencrypted, "unreadable": len(unreadable)},
    )
    return ReencryptionResult(reencrypted=reencrypted, unreadable=unreadable)
