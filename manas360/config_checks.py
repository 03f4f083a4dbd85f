"""Start-up checks of settings whose shape, not only presence, matters (called from settings.py).

Each raises ImproperlyConfigured naming the variable, so a misconfigured production instance stops at start
instead of running unsafely (a refused MFA key, metrics open to the internet).
"""

import ipaddress
from typing import Any

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def fernet_keys(keys: list[str]) -> list[str]:
    """MFA_ENCRYPTION_KEY: one or more Fernet keys, newest first."""
    keys = [key.strip() for key in keys if key.strip()]
    if not keys:
        raise ImproperlyConfigured("Set MFA_ENCRYPTION_KEY to one or more Fernet keys, newest first.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"MFA_ENCRYPTION_KEY: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'`)."
            ) from None
    return keys


def metrics_access(
    *, token: str, networks: list[str], production: bool
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOWED_NETWORKS are private networks; in production a token or such networks are required."""
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {network!r} is not a network (CIDR).") from None
    public = [str(network) for network in parsed if not (network.is_private or network.is_loopback)]
    if public:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS must list internal networks only; not internal: {', '.join(public)}."
        )
    if production and not token and not parsed:
        raise ImproperlyConfigured(
            "Set METRICS_TOKEN, or METRICS_ALLOWED_NETWORKS to the scraper's internal network "
            "(one of them is required when DEBUG is off)."
        )
    return parsed


# The settings each OTP delivery channel needs (the senders in accounts/otp_providers read this too).
OTP_CHANNEL_SETTINGS = {
    "whatsapp": ("OTP_WHATSAPP_PHONE_NUMBER_ID", "OTP_WHATSAPP_ACCESS_TOKEN", "OTP_WHATSAPP_TEMPLATE_NAME"),
    "sms": ("OTP_MSG91_AUTH_KEY", "OTP_MSG91_TEMPLATE_ID"),
    "email": ("EMAIL_HOST", "DEFAULT_FROM_EMAIL"),
}
OTP_PHONE_CHANNEL_NAMES = ("whatsapp", "sms")
OTP_PROVIDER_CHANNEL = "accounts.otp_delivery.ProviderChannel"


def otp_delivery(
    *, delivery_channel: str, phone_channels: list[str], values: dict[str, Any], production: bool
) -> list[str]:
    """OTP_PHONE_CHANNELS names known channels; in production each sign-in method (phone, email) has a channel
    with every setting it needs, and codes go through the providers (the console channel delivers nothing)."""
    phone_channels = [name.strip() for name in phone_channels if name.strip()]
    if values.get("EMAIL_USE_TLS") and values.get("EMAIL_USE_SSL"):
        raise ImproperlyConfigured("EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (port 465): set one of them.")
    unknown = [name for name in phone_channels if name not in OTP_PHONE_CHANNEL_NAMES]
    if unknown or len(set(phone_channels)) != len(phone_channels):
        raise ImproperlyConfigured(
            f"OTP_PHONE_CHANNELS: {', '.join(phone_channels)!s} is not an ordered list of distinct channels "
            f"among {', '.join(OTP_PHONE_CHANNEL_NAMES)}."
        )
    if not production:
        return phone_channels
    if delivery_channel != OTP_PROVIDER_CHANNEL:
        raise ImproperlyConfigured(
            f"OTP_DELIVERY_CHANNEL is {delivery_channel}: with DEBUG off codes must reach people; "
            f"use {OTP_PROVIDER_CHANNEL} (the default)."
        )
    if not phone_channels:
        raise ImproperlyConfigured("OTP_PHONE_CHANNELS is empty: phone sign-in would have no channel.")
    for channel in [*phone_channels, "email"]:
        missing = [name for name in OTP_CHANNEL_SETTINGS[channel] if not values.get(name)]
        if missing:
            method = "email" if channel == "email" else "phone"
            hint = "" if channel == "email" else f" (or remove {channel} from OTP_PHONE_CHANNELS)"
            raise ImproperlyConfigured(
                f"{method} sign-in: the {channel} channel needs {', '.join(missing)}{hint}; "
                "a sign-in method without a working channel cannot start (docs/auth.md)."
            )
    if values.get("EMAIL_HOST_USER") and not values.get("EMAIL_HOST_PASSWORD"):
        raise ImproperlyConfigured("email sign-in: EMAIL_HOST_USER is set without EMAIL_HOST_PASSWORD.")
    return phone_channels
