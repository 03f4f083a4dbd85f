"""Admin sign-in lockout: 5 failed password or MFA attempts within 15 minutes lock the account for 15 minutes
(429 `too_many_attempts`, audited `auth.lockout`); failures are committed before the error is raised. Addresses
that are not admins "lock" alike, so the lockout does not reveal which addresses are admins."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.errors import (
    TooManyAttempts,
)
from accounts.models import LoginFailure, User
from manas360.api.errors import ApplicationError
from manas360.api.throttling import CACHE_ERRORS


def _lock_retry_after(user: User) -> int | None:
    now = timezone.now()
    if user.locked_until and user.locked_until > now:
        return max(int((user.locked_until - now).total_seconds() + 0.999), 1)
    return None


def ensure_not_locked(user: User) -> None:
    retry_after = _lock_retry_after(user)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)


@transaction.atomic
def _record_failure(*, user: User, reason: str, ip_address, user_agent) -> int | None:
    """Store a failure; lock the account on the threshold. Returns retry_after when this failure locked it."""
    now = timezone.now()
    locked = User.objects.select_for_update().get(pk=user.pk)
    LoginFailure.objects.create(user=locked, created_at=now, reason=reason)
    window_start = now - timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
    if locked.locked_until and locked.locked_until > window_start:
        window_start = locked.locked_until
    failures = LoginFailure.objects.filter(user=locked, created_at__gt=window_start).count()
    if failures < settings.ADMIN_LOCKOUT_THRESHOLD:
        return None
    locked.locked_until = now + timedelta(seconds=settings.ADMIN_LOCKOUT_SECONDS)
    locked.save(update_fields=["locked_until"])
    user.locked_until = locked.locked_until
    audit_log_record(
        action="auth.lockout",
        actor=locked,
        resource_type="user",
        resource_id=locked.pk,
        after={"locked_until": locked.locked_until.isoformat(), "failures": failures},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return settings.ADMIN_LOCKOUT_SECONDS


def fail_and_raise(*, user: User, reason: str, error: ApplicationError, ip_address, user_agent, audit_action: str):
    audit_log_record(
        action=audit_action,
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        after={"reason": reason},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    retry_after = _record_failure(user=user, reason=reason, ip_address=ip_address, user_agent=user_agent)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)
    raise error


# --- lockout look-alike for addresses that are not admins ------------------------------------------------
# A real admin's failures lock the account (429 after the threshold); if other addresses kept answering 401,
# five wrong passwords would tell whether an address belongs to an admin. So failures for unknown, non-admin
# and deleted addresses are counted too (in the cache, keyed by a digest of the address) and lock the same way.


def _lookalike_keys(email_value: str) -> tuple[str, str]:
    digest = hashlib.sha256(email_value.encode()).hexdigest()[:32]
    return f"admin-login:nonadmin-failures:{digest}", f"admin-login:nonadmin-locked-until:{digest}"


def ensure_lookalike_not_locked(email_value: str) -> None:
    _, lock_key = _lookalike_keys(email_value)
    try:
        locked_until = cache.get(lock_key)
    except CACHE_ERRORS:
        return  # fail open, like the rate limits: a cache outage must not take sign-in down
    now = timezone.now().timestamp()
    if locked_until is not None and locked_until > now:
        raise TooManyAttempts(retry_after=max(int(locked_until - now + 0.999), 1))


# ValueError: the counter expired between add and incr; the others: the cache is down (fail open).
_LOOKALIKE_FAIL_OPEN: tuple[type[BaseException], ...] = (ValueError, *CACHE_ERRORS)


def record_lookalike_failure(email_value: str) -> None:
    """Count a failure; on the threshold lock the address and answer 429, as _record_failure does for admins."""
    count_key, lock_key = _lookalike_keys(email_value)
    try:
        cache.add(count_key, 0, timeout=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
        failures = cache.incr(count_key)
        if failures < settings.ADMIN_LOCKOUT_THRESHOLD:
            return
        cache.delete(count_key)
        locked_until = timezone.now().timestamp() + settings.ADMIN_LOCKOUT_SECONDS
        cache.set(lock_key, locked_until, timeout=settings.ADMIN_LOCKOUT_SECONDS)
    except _LOOKALIKE_FAIL_OPEN:
        return
    raise TooManyAttempts(retry_after=settings.ADMIN_LOCKOUT_SECONDS)
