"""The real client IP behind a known number of trusted reverse proxies (docs/api.md §10)."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """With N trusted proxies, the client is the N-th address from the right of X-Forwarded-For.

    Addresses further left were written by the client itself and cannot be trusted.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote_addr
    forwarded: list[str] = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return forwarded[0] if forwarded else remote_addr
