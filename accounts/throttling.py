"""Rate limits of the accounts endpoints (docs/api.md §10), on the shared window counter of manas360/api/throttling.py.

Sign-in codes are limited per client IP and per identifier (the normalised phone number or email, so
`98123 45678` and `+919812345678` share a budget); admin sign-in and the MFA step per client IP; email-change
confirmations per user. Rates: settings.RATE_LIMITS.
"""

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.identifiers import throttle_identifier
from manas360.api.throttling import ClientIpRateThrottle, WindowRateThrottle

if TYPE_CHECKING:  # rest_framework.views reads the throttle settings on import, which name this module
    from rest_framework.views import APIView


class _IdentifierThrottle(WindowRateThrottle):
    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        if not isinstance(request, Request):  # a plain Django request (the admin site) sends no identifier
            return None
        # A malformed or oversized body raises here and is answered as such (400 invalid_json, 413):
        # DRF keeps an empty body after a parse error, so swallowing it would turn the answer
        # into a misleading "field required".
        return throttle_identifier(request.data)


class SendOtpIdentifierThrottle(_IdentifierThrottle):
    scope = "send_otp_identifier"


class SendOtpIpThrottle(ClientIpRateThrottle):
    scope = "send_otp_ip"


class VerifyOtpIdentifierThrottle(_IdentifierThrottle):
    scope = "verify_otp_identifier"


class AdminLoginIpThrottle(ClientIpRateThrottle):
    scope = "admin_login_ip"


class VerifyMfaIpThrottle(ClientIpRateThrottle):
    scope = "verify_mfa_ip"


class EmailChangeConfirmThrottle(WindowRateThrottle):
    """Code confirmations of an email change, per user, on the same budget as sign-in code checks."""

    scope = "verify_otp_identifier"

    def limit_key(self, request: Request | HttpRequest, view: "APIView | None") -> str | None:
        if request.user and request.user.is_authenticated:
            return f"email-change:{request.user.pk}"
        return None
