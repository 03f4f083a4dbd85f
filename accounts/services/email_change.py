"""Self-service email change with proof of ownership (docs/auth.md "Email change").

A user asks for a new address (`PATCH /users/me {"email"}` or `POST /users/me/email-change`); a 6-digit code
goes to that address and the change is pending (EmailChangeRequest) until the user confirms the code
(`POST /users/me/email-change/confirm`). Until then the address is not the user's: it is not used for
sign-in, not shown as their email, and not reserved. Whether the address belongs to another account is
only checked at confirmation, by someone who has just proved they control it, so asking reveals nothing.

The same rules as sign-in codes: CSPRNG codes stored as HMAC-SHA256, 5-minute validity, 5 wrong tries kill
a code, resend cooldown and hourly cap counted in the database per user. Requests and confirmations are
audited (`user.email_change.request`, `user.email_change`).
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.audit import audit_log_record
from accounts.errors import EmailTaken, OtpAttemptsExceeded, OtpExpired, OtpHourlyLimit, OtpInvalid, OtpResendTooSoon
from accounts.identifiers import normalise_email
from accounts.models import EmailChangeRequest, OtpDeliveryAttempt, User
from accounts.otp import dev_code_enabled, new_otp_code
from accounts.otp_delivery import OtpMessage, get_channel
from manas360.api.errors import ValidationFailed


def _hash_code(*, request_id: uuid.UUID, code: str) -> str:
    message = f"email-change:{request_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PendingEmailChange:
    email: str
    expires_in: int
    resend_in: int
    dev_code: str | None


def pending_email_of(user: User, *, now: datetime) -> str | None:
    """The address a user has asked for and not yet confirmed (None when nothing is pending)."""
    return (
        EmailChangeRequest.objects.filter(
            user=user, confirmed_at__isnull=True, invalidated_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .values_list("new_email", flat=True)
        .first()
    )


def parse_new_email(value: object) -> str:
    email = normalise_email(value) if isinstance(value, str) else None
    if email is None:
        raise ValidationFailed("Enter a valid email address.", errors={"email": ["Enter a valid email address."]})
    return email


def email_change_request(
    *, user: User, new_email: str, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> PendingEmailChange:
    """Hold `new_email` as pending and send a code to it. Delivery happens after the row is committed."""
    change, code = _create(user=user, new_email=new_email, ip_address=ip_address, now=now)
    try:
        get_channel().send(
            OtpMessage(
                identifier=new_email,
                channel="email",
                code=code,
                ttl_seconds=settings.OTP_TTL_SECONDS,
                purpose=OtpDeliveryAttempt.Purpose.EMAIL_CHANGE,
            )
        )
    except Exception:
        # The code never arrived: it must not count against the cooldown or stay usable.
        EmailChangeRequest.objects.filter(pk=change.pk).delete()
        raise
    audit_log_record(
        action="user.email_change.request",
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        before={"email": user.email},
        after={"pending_email": new_email},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return PendingEmailChange(
        email=new_email,
        expires_in=settings.OTP_TTL_SECONDS,
        resend_in=settings.OTP_RESEND_COOLDOWN_SECONDS,
        dev_code=code if dev_code_enabled() else None,
    )


@transaction.atomic
def _create(*, user: User, new_email: str, ip_address: str | None, now: datetime) -> tuple[EmailChangeRequest, str]:
    User.objects.select_for_update().filter(pk=user.pk).first()  # serialises one user's requests
    recent = sorted(
        EmailChangeRequest.objects.filter(user=user, created_at__gte=now - timedelta(hours=1)).values_list(
            "created_at", flat=True
        ),
        reverse=True,
    )
    if recent:
        since_last = (now - recent[0]).total_seconds()
        if since_last < settings.OTP_RESEND_COOLDOWN_SECONDS:
            raise OtpResendTooSoon(retry_after=max(int(settings.OTP_RESEND_COOLDOWN_SECONDS - since_last + 0.999), 1))
    if len(recent) >= settings.OTP_HOURLY_LIMIT:
        oldest_counted = recent[settings.OTP_HOURLY_LIMIT - 1]
        raise OtpHourlyLimit(retry_after=max(int((oldest_counted + timedelta(hours=1) - now).total_seconds() + 1), 1))
    EmailChangeRequest.objects.filter(user=user, confirmed_at__isnull=True, invalidated_at__isnull=True).update(
        invalidated_at=now
    )
    code = new_otp_code()
    change = EmailChangeRequest(
        user=user,
        new_email=new_email,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        ip_address=ip_address or None,
    )
    change.code_hash = _hash_code(request_id=change.pk, code=code)
    change.save()
    return change, code


def email_change_confirm(
    *, user: User, code: object, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> User:
    """Check the code of the user's newest request and make its address the user's email."""
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) != settings.OTP_LENGTH:
        raise ValidationFailed("Enter the 6-digit code.", errors={"code": ["Enter the 6-digit code."]})
    checked = _check(user=user, code=code, now=now)
    if checked.outcome == "invalid":
        attempts_left = checked.attempts_left
        raise OtpInvalid(extra={"attempts_left": attempts_left} if attempts_left is not None else None)
    if checked.outcome == "dead":
        raise OtpAttemptsExceeded()
    if checked.outcome == "expired":
        raise OtpExpired()
    if checked.outcome == "taken":
        raise EmailTaken()
    before, updated = checked.before, checked.updated
    assert updated is not None  # "ok" always carries the updated user
    audit_log_record(
        action="user.email_change",
        actor=updated,
        resource_type="user",
        resource_id=updated.pk,
        before={"email": before},
        after={"email": updated.email},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return updated


@dataclass(frozen=True)
class _Checked:
    outcome: Literal["ok", "invalid", "dead", "expired", "taken"]
    attempts_left: int | None = None  # "invalid" after a wrong try
    before: str | None = None  # "ok": the previous email and the updated user
    updated: User | None = None


@transaction.atomic
def _check(*, user: User, code: str, now: datetime) -> _Checked:
    """Wrong tries are committed (the caller raises after the transaction)."""
    change = EmailChangeRequest.objects.select_for_update().filter(user=user).order_by("-created_at").first()
    if change is None or change.confirmed_at is not None or change.invalidated_at is not None:
        return _Checked("invalid")
    if change.attempts >= settings.OTP_MAX_ATTEMPTS:
        return _Checked("dead")
    if change.expires_at <= now:
        return _Checked("expired")
    if not hmac.compare_digest(_hash_code(request_id=change.pk, code=code), change.code_hash):
        change.attempts += 1
        change.save(update_fields=["attempts"])
        if change.attempts >= settings.OTP_MAX_ATTEMPTS:
            return _Checked("dead")
        return _Checked("invalid", attempts_left=settings.OTP_MAX_ATTEMPTS - change.attempts)
    target = User.objects.select_for_update().get(pk=user.pk)
    before = target.email
    target.email = change.new_email
    try:
        if User.objects.filter(email__iexact=change.new_email).exclude(pk=target.pk).exists():
            raise IntegrityError("email taken")
        with transaction.atomic():
            target.save(update_fields=["email", "updated_at"])
    except IntegrityError:  # another account holds the address (or took it in the meantime)
        change.invalidated_at = now
        change.save(update_fields=["invalidated_at"])
        return _Checked("taken")
    change.confirmed_at = now
    change.save(update_fields=["confirmed_at"])
    return _Checked("ok", before=before, updated=target)
