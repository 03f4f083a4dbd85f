"""Checking an admin's second factor: RFC 6238 TOTP (SHA-1, 6 digits, 30 s, ±1 step) with a replay guard, and
single-use backup codes (HMAC-SHA256 at rest)."""

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from django.conf import settings

from accounts.mfa.at_rest import decrypt_secret
from accounts.models import MfaDevice

TOTP_INTERVAL = 30
BACKUP_CODE_COUNT = 10


def hash_backup_code(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(settings.SECRET_KEY.encode(), f"backup:{normalised}".encode(), hashlib.sha256).hexdigest()


def new_backup_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def totp_match_step(secret: str, code: str, *, now: datetime) -> int | None:
    """The time step (±1 around now) whose TOTP equals `code`, else None (RFC 6238, constant-time compare)."""
    # isascii: str.isdigit() also accepts other scripts' digits, which hmac.compare_digest refuses (TypeError).
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    moment = now.timestamp()
    current = int(moment // TOTP_INTERVAL)
    matched = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            matched = step
    return matched


def check_device_code(*, device: MfaDevice, code: str, now: datetime) -> str:
    """'ok' (TOTP or backup code accepted and recorded), 'reused' or 'invalid'. Caller holds the row lock."""
    code = (code or "").strip()
    secret = decrypt_secret(device.secret_encrypted)
    if secret and code.isdigit() and len(code) == 6:
        step = totp_match_step(secret, code, now=now)
        if step is None:
            return "invalid"
        if device.last_used_step is not None and step <= device.last_used_step:
            return "reused"
        device.last_used_step = step
        device.save(update_fields=["last_used_step"])
        return "ok"
    digest = hash_backup_code(code)
    backup = device.backup_codes.filter(code_hash=digest).first()
    if backup is None:
        return "invalid"
    if backup.used_at is not None:
        return "reused"
    backup.used_at = now
    backup.save(update_fields=["used_at"])
    return "ok"
