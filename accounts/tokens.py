"""Token formats (docs/api.md §1, §2).

* Access token: simplejwt HS256 JWT, `token_type: "access"`, 15 minutes, claims `sub` (user id), `sid`
  (AuthSession id), `role`, `permissions`, `mfa`. Revocation is checked on every request against the session row.
* Refresh token: 48 random bytes (URL-safe), single use; only its SHA-256 is stored (RefreshToken).
* MFA token: its own JWT type `admin_mfa` (5 minutes) bound to a single-use MfaChallenge row; the access-token
  decoder refuses it because its `token_type` differs.
* CSRF token: HMAC of the session id, stable for the life of the session (double-submit cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.roles import permissions_for_role

if TYPE_CHECKING:
    from accounts.models import AuthSession, MfaChallenge, User


class MfaToken(Token):
    token_type = "admin_mfa"  # noqa: S105 - a token type name, not a secret
    lifetime = timedelta(seconds=300)


def make_access_token(*, user: User, session: AuthSession, permissions: list[str] | None = None) -> str:
    token = AccessToken()
    token["sub"] = str(user.pk)
    token["sid"] = str(session.pk)
    token["role"] = user.role
    token["permissions"] = permissions if permissions is not None else permissions_for_role(user.role)
    token["mfa"] = bool(session.mfa_completed)
    return str(token)


def access_token_lifetime_seconds() -> int:
    return int(settings.ACCESS_TOKEN_LIFETIME.total_seconds())


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def hash_refresh_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def make_mfa_token(*, challenge: MfaChallenge) -> str:
    token = MfaToken()
    token["sub"] = str(challenge.user_id)
    token["cid"] = str(challenge.pk)
    return str(token)


def csrf_token_for_session(session_id: object) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()
