"""Token issuing. Foundation version: access tokens only (issue 4 adds sessions and refresh)."""

from rest_framework_simplejwt.tokens import AccessToken


def issue_access_token(*, user, mfa_verified: bool = False) -> str:
    token = AccessToken.for_user(user)
    token["role"] = user.role
    token["mfa"] = mfa_verified
    return str(token)
