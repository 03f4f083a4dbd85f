"""Email through SMTP (Django's SMTP backend; every setting from `EMAIL_*`).

SMTP rather than a provider's HTTP API: Amazon SES, SendGrid and the other senders all offer an SMTP endpoint
with credentials, so the provider is a matter of settings, and no SDK is added (docs/dependencies.md).
`EMAIL_TIMEOUT` bounds every socket operation. A refusal is the SMTP reply code (535 bad credentials,
550/553 a refused recipient, 421/451 a temporary failure, 554 rejected), recorded as the provider code.
"""

import smtplib
import ssl

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME

from accounts.otp_providers.base import Accepted, ProviderRefused, code_text
from manas360.config_checks import OTP_CHANNEL_SETTINGS

SUBJECT = "Your MANAS360 sign-in code"


def _smtp_code(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [str(code) for code, _ in exc.recipients.values()]
        return codes[0] if codes else "recipients_refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        return str(exc.smtp_code)
    return type(exc).__name__


class SmtpEmailSender:
    channel = "email"
    provider = "smtp"

    def missing_settings(self) -> list[str]:
        missing = [name for name in OTP_CHANNEL_SETTINGS["email"] if not getattr(settings, name)]
        if settings.EMAIL_HOST_USER and not settings.EMAIL_HOST_PASSWORD:
            missing.append("EMAIL_HOST_PASSWORD")
        return missing

    def send(self, *, to: str, code: str, ttl_seconds: int) -> Accepted:
        message_id = make_msgid(domain=DNS_NAME.get_fqdn())
        message = EmailMessage(
            SUBJECT,
            code_text(code, ttl_seconds),
            settings.DEFAULT_FROM_EMAIL,
            [to],
            headers={"Message-ID": message_id},
            # SMTP whatever EMAIL_BACKEND says: the test runner swaps that one for an in-memory outbox.
            connection=get_connection("django.core.mail.backends.smtp.EmailBackend", fail_silently=False),
        )
        try:
            sent = message.send()
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise ProviderRefused(provider_code=_smtp_code(exc)) from exc
        if sent != 1:
            raise ProviderRefused(provider_code="not_sent")
        return Accepted(message_id=message_id)
