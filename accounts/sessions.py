"""Sign-in sessions and rotating refresh tokens (docs/api.md §2 `refresh`/`logout`, §11 "Refresh").

A session (AuthSession) is one sign-in on one device; its refresh tokens form one family. Each refresh token
is single use: refreshing rotates it to a new one of the same family. Re-presenting a rotated token within
REFRESH_REUSE_INTERVAL_SECONDS (two tabs refreshing at once) yields another valid token of the family; after
that it is treated as theft: the session is revoked (its access tokens stop working at once), the event is
audited as `auth.refresh_reuse`, and the caller gets 401 `refresh_reuse_detected`.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.audit import audit_log_record
from accounts.errors import (
    AccountSuspended,
    RefreshReuseDetected,
    SessionRevoked,
    TokenExpired,
    TokenInvalid,
)
from accounts.models import AuthSession, RefreshToken, User
from accounts.roles import permissions_for_role
from accounts.tokens import (
    access_token_lifetime_seconds,
    csrf_token_for_session,
    hash_refresh_token,
    make_access_token,
    new_refresh_token,
)


@dataclass(frozen=True)
class IssuedTokens:
    session: AuthSession
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int
    permissions: list[str]

    def as_body(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": self.expires_in}


def _new_refresh_row(*, session: AuthSession, now: datetime) -> str:
    raw = new_refresh_token()
    RefreshToken.objects.create(
        session=session,
        token_hash=hash_refresh_token(raw),
        expires_at=now + settings.REFRESH_TOKEN_LIFETIME,
    )
    return raw


def _issue(*, session: AuthSession, user: User, refresh_raw: str) -> IssuedTokens:
    permissions = permissions_for_role(user.role)
    return IssuedTokens(
        session=session,
        access_token=make_access_token(user=user, session=session, permissions=permissions),
        refresh_token=refresh_raw,
        csrf_token=csrf_token_for_session(session.pk),
        expires_in=access_token_lifetime_seconds(),
        permissions=permissions,
    )


@transaction.atomic
def session_start(
    *, user: User, now: datetime, mfa_completed: bool = False, ip_address: str | None = None, user_agent: str = ""
) -> IssuedTokens:
    """Open a session for a signed-in user and issue its first access and refresh tokens."""
    session = AuthSession.objects.create(
        user=user,
        mfa_completed=mfa_completed,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:500],
        last_used_at=now,
    )
    User.objects.filter(pk=user.pk).update(last_login=now)
    return _issue(session=session, user=user, refresh_raw=_new_refresh_row(session=session, now=now))


def session_reissue_access(*, session: AuthSession) -> str:
    """A fresh access token for a session whose state changed (e.g. MFA just completed)."""
    return make_access_token(user=session.user, session=session)


def session_refresh(
    *, raw_token: str, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> IssuedTokens:
    """Rotate a refresh token. Raises 401 errors; reuse outside the interval revokes the family."""
    outcome, payload = _rotate(raw_token=raw_token, now=now)
    if outcome == "reuse":
        session = payload
        audit_log_record(
            action="auth.refresh_reuse",
            actor=session.user,
            resource_type="session",
            resource_id=session.pk,
            after={"revoked": True},
            ip_address=ip_address,
            user_agent=user_agent,
        )
        raise RefreshReuseDetected()
    if outcome == "suspended":
        raise AccountSuspended(status_code=401)
    tokens: IssuedTokens = payload
    return tokens


@transaction.atomic
def _rotate(*, raw_token: str, now: datetime) -> tuple[str, Any]:
    if not raw_token or len(raw_token) > 200:
        raise TokenInvalid("The refresh token is invalid.")
    token_hash = hash_refresh_token(raw_token)
    found = RefreshToken.objects.filter(token_hash=token_hash).values_list("session_id", flat=True).first()
    if found is None:
        raise TokenInvalid("The refresh token is invalid.")
    # Lock the session row: every refresh of one family is serialised, so two tabs racing
    # with the same token see each other's rotation.
    session = AuthSession.objects.select_for_update(of=("self",)).select_related("user").get(pk=found)
    token = RefreshToken.objects.get(token_hash=token_hash)
    if session.is_revoked:
        raise SessionRevoked()
    user = session.user
    if not user.is_active or user.is_deleted:
        _revoke(session=session, reason="suspended", now=now)
        return "suspended", None
    if token.expires_at <= now:
        raise TokenExpired("The refresh token has expired. Please sign in again.")
    if token.rotated_at is not None:
        reuse_interval = timedelta(seconds=settings.REFRESH_REUSE_INTERVAL_SECONDS)
        if now - token.rotated_at > reuse_interval:
            _revoke(session=session, reason="refresh_reuse", now=now)
            return "reuse", session
        # Inside the interval (a second tab): a new token of the same family; the first stays valid.
        raw = _new_refresh_row(session=session, now=now)
    else:
        raw = _new_refresh_row(session=session, now=now)
        replacement = RefreshToken.objects.get(token_hash=hash_refresh_token(raw))
        token.rotated_at = now
        token.replaced_by = replacement
        token.save(update_fields=["rotated_at", "replaced_by"])
    session.last_used_at = now
    session.save(update_fields=["last_used_at"])
    return "ok", _issue(session=session, user=user, refresh_raw=raw)


def _revoke(*, session: AuthSession, reason: str, now: datetime) -> None:
    AuthSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_reason=reason)
    session.revoked_at = now
    session.revoked_reason = reason


@transaction.atomic
def session_revoke(*, session_id: uuid.UUID | str, now: datetime, reason: str = "logout") -> int:
    """End one session (its refresh tokens and access tokens stop working at once)."""
    return AuthSession.objects.filter(pk=session_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )


@transaction.atomic
def sessions_revoke_for_user(
    *, user: User, reason: str, now: datetime, except_session_id: uuid.UUID | str | None = None
) -> int:
    """End every live session of a user (logout everywhere, suspension, deletion, MFA disable)."""
    sessions = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if except_session_id is not None:
        sessions = sessions.exclude(pk=except_session_id)
    return sessions.update(revoked_at=now, revoked_reason=reason)


def session_for_refresh_token(raw_token: str, *, now: datetime) -> AuthSession | None:
    """The session a current refresh token belongs to; a rotated or expired token names none.

    Logout trusts this answer, so an old token copied from somewhere cannot sign the user out.
    """
    if not raw_token:
        return None
    token = (
        RefreshToken.objects.select_related("session")
        .filter(token_hash=hash_refresh_token(raw_token), rotated_at__isnull=True, expires_at__gt=now)
        .first()
    )
    return token.session if token else None
