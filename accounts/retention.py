"""Retention of sign-in data (docs/jobs.md "Retention"): rows that protect nobody any more are deleted."""

from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from accounts.models import AuthSession, LoginFailure, OtpChallenge, OtpDeliveryAttempt, RefreshToken


def _delete_in_batches(queryset: QuerySet[Any], batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = queryset.model.objects.filter(pk__in=ids).delete()
        deleted += count


def otp_challenges_purge(*, now: datetime, batch_size: int = 1000) -> int:
    """OTP challenges older than RETENTION_OTP_CHALLENGE_DAYS (at least a day: the hourly send limit counts them),
    and the delivery attempts of that age with them (they answer "did my code go out?" while a code matters)."""
    days = max(settings.RETENTION_OTP_CHALLENGE_DAYS, 1)
    cutoff = now - timedelta(days=days)
    challenges = _delete_in_batches(
        OtpChallenge.objects.filter(created_at__lt=cutoff, expires_at__lt=cutoff), batch_size
    )
    return challenges + _delete_in_batches(OtpDeliveryAttempt.objects.filter(created_at__lt=cutoff), batch_size)


def auth_sessions_purge(*, now: datetime, batch_size: int = 1000) -> int:
    """Ended sign-in sessions (revoked more than RETENTION_ENDED_SESSION_DAYS ago, with their
    refresh tokens), refresh tokens expired more than RETENTION_EXPIRED_REFRESH_TOKEN_DAYS ago, and failed
    admin sign-ins older than RETENTION_LOGIN_FAILURE_DAYS (a lockout counts 15 minutes of them and lasts at
    most as long; the rest is kept for investigating an attack, then deleted).

    A live session keeps its tokens until they expire: a rotated token that is still valid
    is what detects its reuse (the session is then revoked).
    """
    session_cutoff = now - timedelta(days=settings.RETENTION_ENDED_SESSION_DAYS)
    token_cutoff = now - timedelta(days=settings.RETENTION_EXPIRED_REFRESH_TOKEN_DAYS)
    tokens = _delete_in_batches(RefreshToken.objects.filter(expires_at__lt=token_cutoff), batch_size)
    sessions = _delete_in_batches(
        AuthSession.objects.filter(Q(revoked_at__isnull=False) & Q(revoked_at__lt=session_cutoff)), batch_size
    )
    failure_cutoff = now - timedelta(days=max(settings.RETENTION_LOGIN_FAILURE_DAYS, 1))
    failures = _delete_in_batches(
        LoginFailure.objects.filter(created_at__lt=failure_cutoff).exclude(locks_until__gte=now), batch_size
    )
    return tokens + sessions + failures


def django_sessions_purge() -> None:
    """Expired Django sessions (the admin's), as `manage.py clearsessions` does."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
