"""Test helpers for signing users in without going through the OTP or admin-login endpoints."""

from accounts.sessions import session_start


def issue_access_token(*, user, mfa_verified: bool = False) -> str:
    """Start a real session for `user` (an AuthSession row, as a sign-in would) and return its access token."""
    return session_start(user=user, mfa_completed=mfa_verified).access_token
