"""OTP sign-in (docs/api.md §2 `send-otp`, `verify-otp`; §11 "OTP").

Codes are 6 digits from `secrets` (CSPRNG), stored as HMAC-SHA256 keyed with SECRET_KEY, valid 5 minutes.
Only the newest code of an identifier can succeed (a new send invalidates the old one). Five wrong tries kill
a code (the 5th answers 429 `otp_attempts_exceeded`). Resend cooldown 60 s, and an hourly cap per identifier;
both are counted in the database so they hold when the cache is down.

A fixed development code (`OTP_DEV_FIXED_CODE`) is used only while DEBUG is on; with DEBUG off every code is
random, so no fixed or arbitrary code is ever accepted in production.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.errors import (
    AccountSuspended,
    AdminMustUseAdminLogin,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpHourlyLimit,
    OtpInvalid,
    OtpResendTooSoon,
)
from accounts.identifiers import Identifier
from accounts.models import OtpChallenge, User
from accounts.otp_delivery import OtpMessage, get_channel, phone_channel
from accounts.roles import Role
from manas360.api.errors import ValidationFailed


def _hash_code(*, challenge_id: object, code: str) -> str:
    message = f"otp:{challenge_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def new_otp_code() -> str:
    fixed: str = settings.OTP_DEV_FIXED_CODE
    if settings.DEBUG and fixed and fixed.isdigit() and len(fixed) == settings.OTP_LENGTH:
        return fixed
    return "".join(secrets.choice("0123456789") for _ in range(settings.OTP_LENGTH))


def dev_code_enabled() -> bool:
    return bool(settings.DEBUG and settings.OTP_DEV_FIXED_CODE)


def _delivery_channel_name(identifier: Identifier, *, unused: OtpChallenge | None) -> str:
    """Email, or the phone channel to try first: the next one after the channel of an unused code.

    WhatsApp can accept a message and fail to deliver it later (reported only through its status webhooks), so
    someone asking again while the last code is unused gets the next channel (WhatsApp, then SMS, then
    WhatsApp again); the providers' synchronous refusals fall back within the same request as well.
    """
    if identifier.kind == "email":
        return "email"
    channels: list[str] = list(settings.OTP_PHONE_CHANNELS)
    if unused is not None and unused.channel in channels:
        return channels[(channels.index(unused.channel) + 1) % len(channels)]
    return phone_channel()


@dataclass(frozen=True)
class SentOtp:
    otp_id: str
    channel: str
    expires_in: int
    resend_in: int
    dev_code: str | None


def otp_send(*, identifier: Identifier, now: datetime, ip_address: str | None = None) -> SentOtp:
    """Create and deliver a code. Delivery happens after the row is committed (no HTTP inside a transaction)."""
    challenge, code = _otp_create(identifier=identifier, ip_address=ip_address, now=now)
    channel = challenge.channel
    try:
        delivered_by = get_channel().send(
            OtpMessage(identifier=identifier.value, channel=channel, code=code, ttl_seconds=settings.OTP_TTL_SECONDS)
        )
    except Exception:
        # The code never reached the user: it must not count against the cooldown or stay usable.
        OtpChallenge.objects.filter(pk=challenge.pk).delete()
        raise
    if delivered_by and delivered_by != channel:  # a fallback (WhatsApp refused, SMS delivered): say which
        channel = delivered_by
        OtpChallenge.objects.filter(pk=challenge.pk).update(channel=channel)
    return SentOtp(
        otp_id=str(challenge.pk),
        channel=channel,
        expires_in=settings.OTP_TTL_SECONDS,
        resend_in=settings.OTP_RESEND_COOLDOWN_SECONDS,
        dev_code=code if dev_code_enabled() else None,
    )


@transaction.atomic
def _otp_create(*, identifier: Identifier, ip_address: str | None, now: datetime) -> tuple[OtpChallenge, str]:
    recent = OtpChallenge.objects.select_for_update().filter(
        identifier=identifier.value, created_at__gte=now - timedelta(hours=1)
    )
    created_times = sorted((row.created_at for row in recent), reverse=True)
    if created_times:
        since_last = (now - created_times[0]).total_seconds()
        if since_last < settings.OTP_RESEND_COOLDOWN_SECONDS:
            raise OtpResendTooSoon(retry_after=max(int(settings.OTP_RESEND_COOLDOWN_SECONDS - since_last + 0.999), 1))
    if len(created_times) >= settings.OTP_HOURLY_LIMIT:
        oldest_counted = created_times[settings.OTP_HOURLY_LIMIT - 1]
        retry_after = max(int((oldest_counted + timedelta(hours=1) - now).total_seconds() + 0.999), 1)
        raise OtpHourlyLimit(retry_after=retry_after)
    unused = [row for row in recent if row.consumed_at is None and row.invalidated_at is None]
    newest_unused = max(unused, key=lambda row: row.created_at) if unused else None
    OtpChallenge.objects.filter(
        identifier=identifier.value, consumed_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=now)
    code = new_otp_code()
    challenge = OtpChallenge(
        identifier=identifier.value,
        channel=_delivery_channel_name(identifier, unused=newest_unused),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        ip_address=ip_address or None,
    )
    challenge.code_hash = _hash_code(challenge_id=challenge.pk, code=code)
    challenge.save()
    return challenge, code


@dataclass(frozen=True)
class VerifiedOtp:
    user: User
    is_new_user: bool


def otp_verify(*, identifier: Identifier, code: str, now: datetime) -> VerifiedOtp:
    """Check a code and sign the user in (signing up on first use). Wrong tries are committed before raising."""
    if not isinstance(code, str) or not code.isdigit() or len(code) != settings.OTP_LENGTH:
        raise ValidationFailed("Enter the 6-digit code.", errors={"otp": ["Enter the 6-digit code."]})
    outcome, attempts_left = _otp_check(identifier=identifier, code=code, now=now)
    if outcome == "invalid":
        extra = {"attempts_left": attempts_left} if attempts_left is not None else None
        raise OtpInvalid(extra=extra)
    if outcome == "dead":
        raise OtpAttemptsExceeded()
    if outcome == "expired":
        raise OtpExpired()
    return _otp_sign_in(identifier=identifier)


@transaction.atomic
def _otp_check(*, identifier: Identifier, code: str, now: datetime) -> tuple[str, int | None]:
    challenge = (
        OtpChallenge.objects.select_for_update().filter(identifier=identifier.value).order_by("-created_at").first()
    )
    if challenge is None or challenge.consumed_at is not None or challenge.invalidated_at is not None:
        return "invalid", None
    if challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
        return "dead", None
    if challenge.expires_at <= now:
        return "expired", None
    expected = _hash_code(challenge_id=challenge.pk, code=code)
    if not hmac.compare_digest(expected, challenge.code_hash):
        challenge.attempts += 1
        challenge.save(update_fields=["attempts"])
        if challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
            return "dead", None
        return "invalid", settings.OTP_MAX_ATTEMPTS - challenge.attempts
    challenge.consumed_at = now
    challenge.save(update_fields=["consumed_at"])
    return "ok", None


def _otp_sign_in(*, identifier: Identifier) -> VerifiedOtp:
    field = "phone_number" if identifier.kind == "phone" else "email"
    user = User.objects.filter(**{field: identifier.value}).first()
    is_new = False
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(**{field: identifier.value}, role=Role.PATIENT, is_verified=True)
            is_new = True
        except IntegrityError:
            user = User.objects.get(**{field: identifier.value})
    if user.role == Role.ADMIN:
        raise AdminMustUseAdminLogin()
    if not user.is_active or user.is_deleted:
        raise AccountSuspended()
    if not user.is_verified:
        user.is_verified = True
        user.save(update_fields=["is_verified"])
    return VerifiedOtp(user=user, is_new_user=is_new)
