"""Authentication for the API: `Authorization: Bearer <access>` or the `access_token` cookie (docs/api.md §1).

Every request re-checks, with one query joining the session and its user, that the user is active and not
deleted (401 `account_suspended`) and that the session is not revoked (401 `session_revoked`), so logout,
suspension and refresh-reuse detection take effect at once. Cookie-authenticated unsafe requests must carry
`X-CSRF-Token` equal to the `csrf_token` cookie, and that value must be the CSRF token of the very session the
access cookie names (403 `csrf_failed`): a token issued to one session never passes on another's cookies.
Bearer requests are not CSRF-checked (a browser never attaches a Bearer header on its own).

An admin session whose MFA step is not complete (password-only sign-in before enrolment) is restricted:
it reaches only the `/admin/mfa/*` endpoints and `GET /users/me` (so the web app can route the admin to the
settings screen); everything else is 403 `admin_mfa_required`.

`request.auth` is the decoded AccessToken; `request.auth.session` is the AuthSession row.
"""

import hmac
import uuid
from typing import Any, cast

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.errors import AccountSuspended, AdminMfaRequired, CsrfFailed, SessionRevoked, TokenExpired, TokenInvalid
from accounts.models import AuthSession, User
from accounts.roles import Role
from accounts.tokens import csrf_token_for_session
from manas360.api.errors import ApplicationError
from manas360.db_rows import JoinedRowQuery
from manas360.request_context import set_user_id

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# What a restricted (MFA not complete) admin session may reach.
_RESTRICTED_ADMIN_PREFIXES = ("/api/v1/admin/mfa/",)
_RESTRICTED_ADMIN_READS = frozenset({"/api/v1/users/me"})


# Concrete columns (typed Any: Django's `get_field` may also answer a reverse relation, `pk` may be None).
_SESSION_PK: Any = AuthSession._meta.pk
_SESSION_USER_FIELD: Any = AuthSession._meta.get_field("user")
_USER_PK: Any = User._meta.pk

# The session and its user in one statement written once per connection (no ORM compilation per request):
# the same full rows as `AuthSession.objects.select_related("user").filter(pk=sid).first()`.
_SESSION_WITH_USER = JoinedRowQuery(
    [(AuthSession, "s"), (User, "u")],
    lambda q: (
        f"FROM {q(AuthSession._meta.db_table)} {q('s')} "
        f"INNER JOIN {q(User._meta.db_table)} {q('u')} "
        f"ON {q('u')}.{q(_USER_PK.column)} = {q('s')}.{q(_SESSION_USER_FIELD.column)} "
        f"WHERE {q('s')}.{q(_SESSION_PK.column)} = %s"
    ),
)


def session_with_user(session_id: object) -> AuthSession | None:
    """The session (its `user` already loaded) whatever its state, or None when there is no such session."""
    try:
        pk = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except (TypeError, ValueError, AttributeError):
        return None
    found = _SESSION_WITH_USER.fetch_one([(_SESSION_PK, pk)])
    if found is None:
        return None
    session, user = found
    _SESSION_USER_FIELD.set_cached_value(session, user)
    return cast(AuthSession, session)


def _fail(error: type[ApplicationError], message: str | None = None) -> exceptions.AuthenticationFailed:
    """DRF's 401 (it adds `WWW-Authenticate`) carrying one of our registered codes, which the handler keeps."""
    return exceptions.AuthenticationFailed(message or error.default_message, code=error.code)


def _deny(error: type[ApplicationError]) -> exceptions.PermissionDenied:
    """DRF's 403 carrying one of our registered codes."""
    return exceptions.PermissionDenied(error.default_message, code=error.code)


def csrf_matches_session(request: Request | HttpRequest, session_id: uuid.UUID | None) -> bool:
    """Double submit bound to the session: the header equals the cookie and is the token of `session_id`.

    Comparing header and cookie alone would let one user's (or a planted) csrf_token pass on another user's
    cookie session; the token is an HMAC of the session id (accounts.tokens), so it is checked against it.
    """
    cookie = request.COOKIES.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or session_id is None:
        return False
    expected = csrf_token_for_session(session_id).encode()
    # Both comparisons always run (constant time); non-ASCII input cannot be a token and is refused as such.
    try:
        same_as_cookie = hmac.compare_digest(cookie.encode(), header.encode())
        of_this_session = hmac.compare_digest(header.encode(), expected)
    except UnicodeEncodeError:
        return False
    return same_as_cookie and of_this_session


def decode_access_token(raw: str) -> AccessToken:
    """Verify signature, expiry and type; 401 `token_expired` / `token_invalid`."""
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]  # simplejwt annotates the encoded text as a Token
    except ExpiredTokenError as exc:
        raise _fail(TokenExpired, "The access token has expired.") from exc
    except TokenError as exc:
        raise _fail(TokenInvalid, "The access token is invalid.") from exc
    if not token.get("sid") or not token.get("sub"):
        raise _fail(TokenInvalid, "The access token is invalid.")
    return token


class TokenSessionAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return "Bearer"

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        header = request.headers.get("Authorization", "")
        from_cookie = False
        if header:
            scheme, _, raw = header.partition(" ")
            raw = raw.strip()
            if scheme.lower() != "bearer" or not raw:
                raise _fail(TokenInvalid, "The access token is invalid.")
        else:
            raw = request.COOKIES.get(ACCESS_COOKIE, "")
            if not raw:
                return None
            from_cookie = True
        token = decode_access_token(raw)
        session = session_with_user(token["sid"])
        if session is None or str(session.user_id) != str(token["sub"]):
            raise _fail(TokenInvalid, "The access token is invalid.")
        user = session.user
        if not user.is_active or user.deleted_at is not None:
            raise _fail(AccountSuspended)
        if session.revoked_at is not None:
            raise _fail(SessionRevoked)
        if from_cookie and request.method not in SAFE_METHODS and not csrf_matches_session(request, session.pk):
            raise _deny(CsrfFailed)
        if user.role == Role.ADMIN and not session.mfa_completed and not _restricted_admin_may_reach(request):
            raise _deny(AdminMfaRequired)
        token.session = session  # type: ignore[attr-defined]  # request.auth.session: see the module docstring
        set_user_id(str(user.pk))
        return user, token


def _restricted_admin_may_reach(request: Request) -> bool:
    path = request.path
    if path.startswith(_RESTRICTED_ADMIN_PREFIXES):
        return True
    return request.method in SAFE_METHODS and path.rstrip("/") in _RESTRICTED_ADMIN_READS
