"""Pluggable OTP delivery channels (docs/api.md §2 `send-otp`; docs/auth.md "Delivery").
settings.OTP_DELIVERY_CHANNEL picks one.

* ConsoleChannel (development): logs that a code was sent; prints the code only while DEBUG is on.
* CaptureChannel (tests): appends every message to `outbox`; tests read the code from there.
* ProviderChannel (production): real providers (accounts/otp_providers). Phone codes go by WhatsApp and/or
  SMS in the order of OTP_PHONE_CHANNELS, a refused message falling back to the next channel; email codes by
  SMTP. Every attempt is an OtpDeliveryAttempt row (never the code; the recipient masked and keyed). When
  every channel refused: 502 `otp_delivery_failed`; when none is configured: 503 `otp_delivery_unavailable`.
  Never a silent success.

`send` answers the channel that delivered (`None`: the one asked for).
"""

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.module_loading import import_string

from accounts.errors import OtpDeliveryFailed, OtpDeliveryUnavailable
from accounts.models import OtpDeliveryAttempt
from accounts.otp_providers.base import Accepted, OtpSender, ProviderRefused
from accounts.otp_providers.email import SmtpEmailSender
from accounts.otp_providers.msg91 import Msg91Sender
from accounts.otp_providers.whatsapp import WhatsAppCloudSender
from manas360.metrics import OTP_DELIVERY_ATTEMPTS

logger = logging.getLogger("manas360.otp")


@dataclass(frozen=True)
class OtpMessage:
    identifier: str
    channel: str  # "sms", "whatsapp" or "email": the channel asked for (a phone code may fall back)
    code: str
    ttl_seconds: int
    purpose: str = OtpDeliveryAttempt.Purpose.SIGN_IN


class OtpChannel(Protocol):
    def send(self, message: OtpMessage) -> str | None: ...


outbox: list[OtpMessage] = []


def mask_identifier(identifier: str) -> str:
    if "@" in identifier:
        local, _, domain = identifier.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{identifier[-4:]}"


def recipient_key(identifier: str) -> str:
    """HMAC-SHA256 of the identifier (SECRET_KEY): support finds one person's attempts without a stored number."""
    return hmac.new(settings.SECRET_KEY.encode(), f"otp-recipient:{identifier}".encode(), hashlib.sha256).hexdigest()


def phone_channel() -> str:
    """The channel a phone code is sent by first."""
    return settings.OTP_PHONE_CHANNELS[0] if settings.OTP_PHONE_CHANNELS else "sms"


class ConsoleChannel:
    def send(self, message: OtpMessage) -> str | None:
        logger.info("otp sent", extra={"to": mask_identifier(message.identifier), "channel": message.channel})
        if settings.DEBUG:
            print(f"[dev] OTP for {message.identifier}: {message.code}", flush=True)  # noqa: T201
        return None


class CaptureChannel:
    def send(self, message: OtpMessage) -> str | None:
        outbox.append(message)
        return None


SENDERS: dict[str, type[OtpSender]] = {
    "whatsapp": WhatsAppCloudSender,
    "sms": Msg91Sender,
    "email": SmtpEmailSender,
}


def senders_for(message: OtpMessage) -> list[OtpSender]:
    """Email's sender, or the phone channels from the one asked for, then the others in their order."""
    if message.channel == "email":
        return [SENDERS["email"]()]
    names = list(settings.OTP_PHONE_CHANNELS)
    start = names.index(message.channel) if message.channel in names else 0
    return [SENDERS[name]() for name in names[start:] + names[:start]]


class ProviderChannel:
    def send(self, message: OtpMessage) -> str | None:
        senders = [sender for sender in senders_for(message) if self._ready(sender)]
        if not senders:
            raise OtpDeliveryUnavailable()
        for sender in senders:
            started = time.monotonic()
            try:
                accepted = sender.send(to=message.identifier, code=message.code, ttl_seconds=message.ttl_seconds)
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, the next channel's turn, never a 500
                # A sender raises ProviderRefused with the provider's code; anything else is named by its class.
                refusal = exc if isinstance(exc, ProviderRefused) else ProviderRefused(provider_code=type(exc).__name__)
                attempt_id = _record(message, sender, started, refusal=refusal)
                logger.warning(
                    "otp provider refused",
                    extra={
                        "channel": sender.channel,
                        "provider": sender.provider,
                        "provider_code": refusal.provider_code,
                        "provider_status": refusal.http_status,
                        "attempt_id": attempt_id,
                    },
                )
                continue
            attempt_id = _record(message, sender, started, accepted=accepted)
            logger.info(
                "otp sent",
                extra={"channel": sender.channel, "provider": sender.provider, "attempt_id": attempt_id},
            )
            return sender.channel
        raise OtpDeliveryFailed()

    @staticmethod
    def _ready(sender: OtpSender) -> bool:
        missing = sender.missing_settings()
        if missing:  # production refuses to start like this (manas360/config_checks.py); tests may get here
            logger.error("otp channel not configured", extra={"channel": sender.channel, "missing": missing})
        return not missing


def _record(
    message: OtpMessage,
    sender: OtpSender,
    started: float,
    *,
    accepted: Accepted | None = None,
    refusal: ProviderRefused | None = None,
) -> int | None:
    """One attempt row (and the metric). A failure to write it is logged, never turned into a failed sign-in."""
    outcome = OtpDeliveryAttempt.Outcome.SENT if accepted else OtpDeliveryAttempt.Outcome.FAILED
    OTP_DELIVERY_ATTEMPTS.labels(channel=sender.channel, provider=sender.provider, outcome=outcome).inc()
    try:
        with transaction.atomic():  # a savepoint: a caller's transaction survives a failed write
            attempt = OtpDeliveryAttempt.objects.create(
                purpose=message.purpose,
                channel=sender.channel,
                provider=sender.provider,
                outcome=outcome,
                provider_error_code=(refusal.provider_code[:64] if refusal else ""),
                http_status=(accepted.http_status if accepted else refusal.http_status if refusal else None),
                provider_message_id=(accepted.message_id[:128] if accepted else ""),
                recipient_masked=mask_identifier(message.identifier)[:64],
                recipient_key=recipient_key(message.identifier),
                duration_ms=int((time.monotonic() - started) * 1000),
            )
    except DatabaseError:
        logger.exception("otp delivery attempt not recorded", extra={"channel": sender.channel})
        return None
    return attempt.pk


def get_channel() -> OtpChannel:
    channel: OtpChannel = import_string(settings.OTP_DELIVERY_CHANNEL)()
    return channel
