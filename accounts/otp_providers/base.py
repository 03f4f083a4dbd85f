"""What every OTP sender shares: the refusal it raises and how it states its configuration."""

from dataclasses import dataclass, field
from typing import Protocol


class ProviderRefused(Exception):
    """The provider did not accept the message. `provider_code` is the provider's own error code (never the OTP)."""

    def __init__(self, *, provider_code: str, http_status: int | None = None):
        super().__init__(provider_code)
        self.provider_code = provider_code
        self.http_status = http_status


@dataclass(frozen=True)
class Accepted:
    """The provider accepted the message; `message_id` is its reference (support looks it up there)."""

    message_id: str = ""
    http_status: int | None = None
    details: dict[str, str] = field(default_factory=dict)


class OtpSender(Protocol):
    channel: str  # "whatsapp", "sms" or "email"
    provider: str  # "meta_cloud", "msg91", "smtp"

    def missing_settings(self) -> list[str]:
        """Names of the settings this sender still needs (empty: ready to send)."""
        ...

    def send(self, *, to: str, code: str, ttl_seconds: int) -> Accepted: ...


def code_text(code: str, ttl_seconds: int) -> str:
    """The text of the code where we write it ourselves (email); WhatsApp and SMS use approved templates."""
    return f"Your MANAS360 code is {code}. It expires in {max(ttl_seconds // 60, 1)} minutes. Do not share it."
