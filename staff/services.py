"""Admin writes (docs/api.md §7). Each one runs in one transaction, goes through the domain services and writes an
audit row with the before/after values of what changed. Used by the admin API and the Django admin alike.
"""

from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.audit import audit_log_record
from accounts.departures import ACCOUNT_SUSPENDED, user_departed
from accounts.models import User
from accounts.roles import Role
from accounts.services import user_soft_delete
from accounts.sessions import sessions_revoke_for_user
from staff.errors import CannotModifyOwnAccount, NotATherapist
from staff.selectors import admin_subscription_get, admin_user_get_for_update
from subscriptions.models import Subscription
from subscriptions.services import subscription_cancel


def _status(user: User) -> str:
    return "active" if user.is_active else "suspended"


def _audit(
    *,
    action: str,
    actor: User,
    user: User,
    before: dict[str, Any],
    after: dict[str, Any],
    ip_address: str | None,
    user_agent: str,
) -> None:
    audit_log_record(
        action=action,
        actor=actor,
        resource_type="user",
        resource_id=user.pk,
        before=before,
        after=after,
        ip_address=ip_address,
        user_agent=user_agent,
    )


def _refuse_self(actor: User, user: User) -> None:
    if actor is not None and actor.pk == user.pk:
        raise CannotModifyOwnAccount()


def _set_active(
    *, actor: User, user: User, active: bool, reason: str, now: datetime, ip_address: str | None, user_agent: str
) -> User:
    """Suspend (revoking every session and ending what the account pays for: `accounts.departures`) or
    reinstate (what was ended stays ended: Autopay is a new set-up). No change, no audit row."""
    if active == user.is_active:
        if not active:
            sessions_revoke_for_user(user=user, reason="suspended", now=now)
            # Idempotent; catches older suspensions.
            user_departed(user=user, actor=actor, reason=ACCOUNT_SUSPENDED, now=now)
        return user
    before = {"status": _status(user), "is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active", "updated_at"])
    revoked = 0 if active else sessions_revoke_for_user(user=user, reason="suspended", now=now)
    if not active:
        user_departed(user=user, actor=actor, reason=ACCOUNT_SUSPENDED, now=now)
    after = {"status": _status(user), "is_active": user.is_active}
    if reason:
        after["reason"] = reason
    if not active:
        after["sessions_revoked"] = revoked
    _audit(
        action="user.reinstate" if active else "user.suspend",
        actor=actor,
        user=user,
        before=before,
        after=after,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return user


@transaction.atomic
def admin_user_suspend(
    *,
    actor: User,
    user_id: object,
    now: datetime,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> User:
    user = admin_user_get_for_update(user_id=user_id)
    _refuse_self(actor, user)
    return _set_active(
        actor=actor, user=user, active=False, reason=reason, now=now, ip_address=ip_address, user_agent=user_agent
    )


@transaction.atomic
def admin_user_reinstate(
    *,
    actor: User,
    user_id: object,
    now: datetime,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> User:
    user = admin_user_get_for_update(user_id=user_id)
    return _set_active(
        actor=actor, user=user, active=True, reason=reason, now=now, ip_address=ip_address, user_agent=user_agent
    )


@transaction.atomic
def admin_user_update(
    *,
    actor: User,
    user_id: object,
    now: datetime,
    first_name: str | None = None,
    last_name: str | None = None,
    role: str | None = None,
    status: str | None = None,
    is_staff: bool | None = None,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> User:
    """Name and role (one `user.update` row); a status change goes through suspend/reinstate (its own row).

    A role (or staff flag) change ends the user's sessions: tokens carry the role and its permissions.
    `is_staff` is changed only from the Django admin site.
    """
    user = admin_user_get_for_update(user_id=user_id)
    wanted = {"first_name": first_name, "last_name": last_name, "role": role, "is_staff": is_staff}
    changed = {field: value for field, value in wanted.items() if value is not None and getattr(user, field) != value}
    if ({"role", "is_staff"} & set(changed) or status == "suspended") and actor is not None and actor.pk == user.pk:
        raise CannotModifyOwnAccount()
    if changed:
        before = {field: getattr(user, field) for field in changed}
        for field, value in changed.items():
            setattr(user, field, value)
        user.save(update_fields=[*changed, "updated_at"])
        after: dict[str, Any] = dict(changed)
        if {"role", "is_staff"} & set(changed):
            after["sessions_revoked"] = sessions_revoke_for_user(user=user, reason="role_changed", now=now)
        _audit(
            action="user.update",
            actor=actor,
            user=user,
            before=before,
            after=after,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    if status is not None:
        _set_active(
            actor=actor,
            user=user,
            active=status == "active",
            reason=reason,
            now=now,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    return user


@transaction.atomic
def admin_user_delete(
    *, actor: User, user_id: object, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> None:
    """Soft delete through the accounts service (scrub, revoke every session, audit `user.delete`)."""
    user = admin_user_get_for_update(user_id=user_id)
    _refuse_self(actor, user)
    user_soft_delete(user=user, actor=actor, now=now, ip_address=ip_address, user_agent=user_agent)


@transaction.atomic
def admin_therapist_verify(
    *,
    actor: User,
    user_id: object,
    verified: bool = True,
    notes: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> User:
    """Set a therapist's verification. Every decision is audited (with the notes), even when unchanged."""
    user = admin_user_get_for_update(user_id=user_id)
    if user.role != Role.THERAPIST:
        raise NotATherapist()
    before = {"is_verified": user.is_verified}
    if user.is_verified != verified:
        user.is_verified = verified
        user.save(update_fields=["is_verified", "updated_at"])
    after: dict[str, Any] = {"is_verified": user.is_verified}
    if notes:
        after["notes"] = notes
    _audit(
        action="therapist.verify",
        actor=actor,
        user=user,
        before=before,
        after=after,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return user


def admin_subscription_cancel(
    *,
    actor: User,
    subscription_id: object,
    reason: str = "",
    immediate: bool = False,
    now: datetime,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Subscription:
    """Through the subscriptions service, which audits `subscription.cancel` itself."""
    subscription = admin_subscription_get(subscription_id=subscription_id)
    return subscription_cancel(
        subscription_id=subscription.pk,
        actor=actor,
        reason=reason,
        immediate=immediate,
        now=now,
        ip_address=ip_address,
        user_agent=user_agent,
    )
