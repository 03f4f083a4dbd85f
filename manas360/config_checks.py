"""Start-up checks of settings whose shape, not only presence, matters (called from settings.py).

Each raises ImproperlyConfigured naming the variable, so a misconfigured production instance stops at start
instead of running unsafely (a refused MFA key, metrics open to the internet).
"""

import ipaddress

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


def metrics_access(*, token: str, networks: list[str], production: bool) -> list:
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
