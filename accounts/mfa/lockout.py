"""Admin sign-in lockout that locks the attacker, not the victim (docs/auth.md "Lockout").

* Per account and client address: 5 failed password or MFA attempts from one address within 15 minutes lock
  that address out of that account for 15 minutes (429 `too_many_attempts`, audited `auth.lockout`). The
  failure that reaches the threshold already answers 429. Every other address keeps signing in as usual, so
  nobody can lock a real admin out by typing wrong passwords for the admin's email.
* Per account, across addresses (the slow-down for guessing spread over many addresses): once the account
  has 20 failures within the window, an address that has failed against it within the window is refused
  (one guess per address per window instead of five). An address with no failure (the admin's own) is never
  refused: the right password from a clean address always signs in.
* Failures are committed before the error is raised. Addresses that are not admins "lock" alike (in the
  cache), so the lockout does not reveal which addresses are admins.
"""

import hashlib
import ipaddress
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q

from accounts.audit import audit_log_record
from accounts.errors import (
    TooManyAttempts,
)
from accounts.models import LoginFailure, User
from manas360.api.errors import ApplicationError
from manas360.api.throttling import CACHE_ERRORS

_ADDRESS_MAX = LoginFailure._meta.get_field("ip_address").max_length or 64


def _address(ip_address: str | None) -> str:
    """The client as counted: an IPv4 address, or the /64 network of an IPv6 one (one subscriber usually gets
    a whole /64, so counting single IPv6 addresses would give an attacker endless fresh addresses)."""
    text = (ip_address or "").strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:_ADDRESS_MAX]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(int((moment - now).total_seconds() + 0.999), 1)


def _retry_after(user: User, address: str, now: datetime) -> int | None:
    """Seconds this address must wait before trying this account again, or None when it may try now."""
    window_start = now - timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
    pair = LoginFailure.objects.filter(user=user, ip_address=address)
    state = pair.aggregate(
        locked_until=Max("locks_until"), last_failure=Max("created_at", filter=Q(created_at__gt=window_start))
    )
    if state["locked_until"] is not None and state["locked_until"] > now:
        return _seconds_until(state["locked_until"], now)
    if state["last_failure"] is None:
        return None  # a clean address is never refused
    if _account_failures(user, window_start) >= settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD:
        window = timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
        return _seconds_until(state["last_failure"] + window, now)
    return None


def _account_failures(user: User, window_start: datetime) -> int:
    return LoginFailure.objects.filter(user=user, created_at__gt=window_start).count()


def ensure_not_locked(user: User, ip_address: str | None, *, now: datetime) -> None:
    retry_after = _retry_after(user, _address(ip_address), now)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)


@transaction.atomic
def _record_failure(*, user: User, reason: str, ip_address: str | None, user_agent: str, now: datetime) -> int | None:
    """Store a failure; returns retry_after when this failure locked the address out of the account."""
    address = _address(ip_address)
    locked = User.objects.select_for_update().get(pk=user.pk)  # serialises the counting for this account
    window_start = now - timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
    pair = LoginFailure.objects.filter(user=locked, ip_address=address)
    previous_lock = pair.aggregate(until=Max("locks_until"))["until"]
    failure = LoginFailure.objects.create(user=locked, created_at=now, reason=reason, ip_address=address)
    # Failures before the end of this address's previous lockout were paid for by that lockout.
    pair_start = max(window_start, previous_lock) if previous_lock else window_start
    pair_failures = pair.filter(created_at__gt=pair_start).count()
    if pair_failures >= settings.ADMIN_LOCKOUT_THRESHOLD:
        failure.locks_until = now + timedelta(seconds=settings.ADMIN_LOCKOUT_SECONDS)
        failure.save(update_fields=["locks_until"])
        _audit_lockout(locked, "address", failure.locks_until, pair_failures, ip_address, user_agent)
        lock_seconds: int = settings.ADMIN_LOCKOUT_SECONDS
        return lock_seconds
    account_failures = _account_failures(locked, window_start)
    if account_failures < settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD:
        return None
    if account_failures == settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD:
        until = now + timedelta(seconds=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
        _audit_lockout(locked, "account", until, account_failures, ip_address, user_agent)
    # Under a spread-out attack this address has now failed, so it waits out the window.
    window_seconds: int = settings.ADMIN_LOCKOUT_WINDOW_SECONDS
    return window_seconds


def _audit_lockout(
    user: User, scope: str, until: datetime, failures: int, ip_address: str | None, user_agent: str
) -> None:
    audit_log_record(
        action="auth.lockout",
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        after={"scope": scope, "locked_until": until.isoformat(), "failures": failures},
        ip_address=ip_address,
        user_agent=user_agent,
    )


def fail_and_raise(
    *,
    user: User,
    reason: str,
    error: ApplicationError,
    ip_address: str | None,
    user_agent: str,
    audit_action: str,
    now: datetime,
) -> NoReturn:
    audit_log_record(
        action=audit_action,
        actor=user,
        resource_type="user",
        resource_id=user.pk,
        after={"reason": reason},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    retry_after = _record_failure(user=user, reason=reason, ip_address=ip_address, user_agent=user_agent, now=now)
    if retry_after is not None:
        raise TooManyAttempts(retry_after=retry_after)
    raise error


# --- lockout look-alike for addresses that are not admins ------------------------------------------------
# A real admin's failures lock (429 after the threshold); if other addresses kept answering 401, wrong
# passwords would tell whether an address belongs to an admin. So failures for unknown, non-admin and deleted
# addresses are counted too (in the cache, keyed by digests of the address and of address + client) and lock
# the same way, per client and across clients.


def _lookalike_keys(email_value: str, address: str) -> tuple[str, str, str, str]:
    account = hashlib.sha256(email_value.encode()).hexdigest()[:32]
    pair = hashlib.sha256(f"{email_value}\0{address}".encode()).hexdigest()[:32]
    return (
        f"admin-login:nonadmin-failures:{account}",
        f"admin-login:nonadmin-pair-failures:{pair}",
        f"admin-login:nonadmin-pair-last:{pair}",
        f"admin-login:nonadmin-pair-locked-until:{pair}",
    )


def ensure_lookalike_not_locked(email_value: str, ip_address: str | None, *, now: datetime) -> None:
    account_key, _, last_key, lock_key = _lookalike_keys(email_value, _address(ip_address))
    moment = now.timestamp()
    try:
        values = cache.get_many([account_key, last_key, lock_key])
    except CACHE_ERRORS:
        return  # fail open, like the rate limits: a cache outage must not take sign-in down
    locked_until = values.get(lock_key)
    if locked_until is not None and locked_until > moment:
        raise TooManyAttempts(retry_after=max(int(locked_until - moment + 0.999), 1))
    last_failure = values.get(last_key)
    if last_failure is not None and (values.get(account_key) or 0) >= settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD:
        retry_after = last_failure + settings.ADMIN_LOCKOUT_WINDOW_SECONDS - moment
        if retry_after > 0:
            raise TooManyAttempts(retry_after=max(int(retry_after + 0.999), 1))


# ValueError: the counter expired between add and incr; the others: the cache is down (fail open).
_LOOKALIKE_FAIL_OPEN: tuple[type[BaseException], ...] = (ValueError, *CACHE_ERRORS)


def _count(key: str) -> int:
    cache.add(key, 0, timeout=settings.ADMIN_LOCKOUT_WINDOW_SECONDS)
    return cache.incr(key)


def record_lookalike_failure(email_value: str, ip_address: str | None, *, now: datetime) -> None:
    """Count a failure; lock as _record_failure does for admins (429 when this failure locks)."""
    account_key, pair_key, last_key, lock_key = _lookalike_keys(email_value, _address(ip_address))
    window = settings.ADMIN_LOCKOUT_WINDOW_SECONDS
    try:
        moment = now.timestamp()
        pair_failures = _count(pair_key)
        account_failures = _count(account_key)
        cache.set(last_key, moment, timeout=window)
        if pair_failures >= settings.ADMIN_LOCKOUT_THRESHOLD:
            cache.delete(pair_key)
            cache.set(lock_key, moment + settings.ADMIN_LOCKOUT_SECONDS, timeout=settings.ADMIN_LOCKOUT_SECONDS)
            retry_after = settings.ADMIN_LOCKOUT_SECONDS
        elif account_failures >= settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD:
            retry_after = window
        else:
            return
    except _LOOKALIKE_FAIL_OPEN:
        return
    raise TooManyAttempts(retry_after=retry_after)
