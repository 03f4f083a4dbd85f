"""Shared helpers for the accounts tests."""

from django.utils import timezone

from accounts import otp_delivery
from accounts.sessions import session_start

SEND = "/api/v1/auth/send-otp"
VERIFY = "/api/v1/auth/verify-otp"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ADMIN_LOGIN = "/api/v1/auth/admin-login"
VERIFY_MFA = "/api/v1/auth/admin-login/verify-mfa"
ME = "/api/v1/users/me"


def last_code() -> str:
    assert otp_delivery.outbox, "no OTP was delivered"
    return otp_delivery.outbox[-1].code


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def sign_in_by_otp(client, phone="+919812345678"):
    """send-otp + verify-otp for a phone number; returns the verify response."""
    assert client.post(SEND, {"phoneNumber": phone}, format="json").status_code == 200
    return client.post(VERIFY, {"phoneNumber": phone, "otp": last_code()}, format="json")


def issue_access_token(*, user, mfa_verified: bool = False) -> str:
    """Start a real session for `user` (an AuthSession row, as a sign-in would) and return its access token."""
    return session_start(now=timezone.now(), user=user, mfa_completed=mfa_verified).access_token
