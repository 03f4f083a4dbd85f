"""Pluggable OTP delivery channels (docs/api.md §2 `send-otp`). settings.OTP_DELIVERY_CHANNEL picks one.

* ConsoleChannel (development): logs that a code was sent; prints the code only while DEBUG is on.
* CaptureChannel (tests): appends every message to `outbox`; tests read the code from there.
* HttpProviderChannel (production): POSTs to an SMS/WhatsApp gateway (OTP_SMS_PROVIDER_URL, bearer
  OTP_SMS_PROVIDER_TOKEN) with a timeout. Any failure raises 502 `otp_delivery_failed`; a missing
  configuration is 503 `otp_delivery_unavailable`. Never a silent success.
"""

import logging
import smtplib
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from accounts.errors import OtpDeliveryFailed, OtpDeliveryUnavailable

logger = logging.getLogger("manas360.otp")


@dataclass(frozen=True)
class OtpMessage:
    identifier: str
    channel: str  # "sms", "whatsapp" or "email"
    code: str
    ttl_seconds: int


class OtpChannel(Protocol):
    def send(self, message: OtpMessage) -> None: ...


outbox: list[OtpMessage] = []


def mask_identifier(identifier: str) -> str:
    if "@" in identifier:
        local, _, domain = identifier.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{identifier[-4:]}"


class ConsoleChannel:
    def send(self, message: OtpMessage) -> None:
        logger.info("otp sent", extra={"to": mask_identifier(message.identifier), "channel": message.channel})
        if settings.DEBUG:
            print(f"[dev] OTP for {message.identifier}: {message.code}", flush=True)  # noqa: T201


class CaptureChannel:
    def send(self, message: OtpMessage) -> None:
        outbox.append(message)


class HttpProviderChannel:
    def send(self, message: OtpMessage) -> None:
        if message.channel == "email":
            self._send_email(message)
            return
        url = settings.OTP_SMS_PROVIDER_URL
        if not url:
            logger.error("otp provider not configured (OTP_SMS_PROVIDER_URL)")
            raise OtpDeliveryUnavailable()
        headers = {"Content-Type": "application/json"}
        if settings.OTP_SMS_PROVIDER_TOKEN:
            headers["Authorization"] = f"Bearer {settings.OTP_SMS_PROVIDER_TOKEN}"
        payload = {
            "to": message.identifier,
            "channel": message.channel,
            "code": message.code,
            "message": f"Your MANAS360 code is {message.code}. It expires in {message.ttl_seconds // 60} minutes.",
        }
        try:
            response = requests.post(
                url, json=payload, headers=headers, timeout=settings.OTP_SMS_PROVIDER_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            logger.error("otp provider unreachable", extra={"error_class": type(exc).__name__})
            raise OtpDeliveryFailed() from exc
        if not 200 <= response.status_code < 300:
            logger.error("otp provider refused", extra={"provider_status": response.status_code})
            raise OtpDeliveryFailed()
        logger.info("otp sent", extra={"to": mask_identifier(message.identifier), "channel": message.channel})

    @staticmethod
    def _send_email(message: OtpMessage) -> None:
        try:
            send_mail(
                "Your MANAS360 sign-in code",
                f"Your MANAS360 code is {message.code}. It expires in {message.ttl_seconds // 60} minutes.",
                None,
                [message.identifier],
                fail_silently=False,
            )
        except (smtplib.SMTPException, OSError) as exc:
            logger.error("otp email failed", extra={"error_class": type(exc).__name__})
            raise OtpDeliveryFailed() from exc


def get_channel() -> OtpChannel:
    channel: OtpChannel = import_string(settings.OTP_DELIVERY_CHANNEL)()
    return channel
