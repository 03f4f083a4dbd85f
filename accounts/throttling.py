"""Rate limits of the accounts endpoints that are not sign-in (the window counter: manas360/api/throttling.py)."""

from manas360.api.throttling import WindowRateThrottle


class EmailChangeConfirmThrottle(WindowRateThrottle):
    """Code confirmations of an email change, per user, on the same budget as sign-in code checks."""

    scope = "verify_otp_identifier"

    def get_ident(self, request, view):
        if request.user and request.user.is_authenticated:
            return f"email-change:{request.user.pk}"
        return None
