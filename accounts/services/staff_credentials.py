"""Care of staff (admin) credentials without bypassing the rules: password change and MFA reset.

Both are used by the Django admin site and by operators' management commands (`changepassword`,
`reset_admin_mfa`); both are audited and end the admin's other sessions, so a credential that leaked stops
working everywhere at once (API tokens, cookie sessions and the Django admin session anchored to them).
"""

import uuid
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import audit_log_record
from accounts.errors import NotAnAdmin
from accounts.models import LoginFailure, MfaDevice, User
from accounts.roles import Role
from accounts.sessions import sessions_revoke_for_user
from manas360.api.errors import ValidationFailed


def _admin(user_id: uuid.UUID) -> User:
    user = User.objects.select_for_update().filter(pk=user_id, deleted_at__isnull=True).first()
    if user is None or user.role != Role.ADMIN:
        raise NotAnAdmin()
    return user


@transaction.atomic
def admin_password_change(
    *,
    user: User,
    new_password: str,
    actor: User | None,
    via: str,
    now: datetime,
    keep_session_id: uuid.UUID | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> int:
    """Set an admin's password (Django's validators apply), clear a lockout, end every other session.

    `keep_session_id`: the session the admin is changing it from (kept signed in). `actor` None means an
    operator on the server (a management command). Returns how many sessions were ended.
    """
    target = _admin(user.pk)
    try:
        validate_password(new_password, user=target)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages[0], errors={"password": list(exc.messages)}) from exc
    target.set_password(new_password)
    target.save(update_fields=["password", "updated_at"])
    # What was guessed against the old password no longer matters: every address starts clean.
    LoginFailure.objects.filter(user=target).delete()
    ended = sessions_revoke_for_user(user=target, reason="password_changed", now=now, except_session_id=keep_session_id)
    audit_log_record(
        action="auth.password_change",
        actor=actor,
        actor_email=None if actor is not None else "operator (manage.py)",
        resource_type="user",
        resource_id=target.pk,
        after={"via": via, "sessions_ended": ended},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    user.password = target.password
    return ended


@transaction.atomic
def admin_mfa_reset(
    *, user: User, actor: User | None, reason: str, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> int:
    """Remove an admin's authenticator and backup codes (lost phone) and end all their sessions.

    The admin signs in with the password next and must enrol again before using the admin area.
    """
    target = _admin(user.pk)
    device = MfaDevice.objects.select_for_update().filter(user=target).first()
    had_mfa = bool(device and device.is_enabled)
    if device is not None:
        device.backup_codes.all().delete()
        device.delete()
    ended = sessions_revoke_for_user(user=target, reason="mfa_reset", now=now)
    audit_log_record(
        action="auth.mfa.reset",
        actor=actor,
        actor_email=None if actor is not None else "operator (manage.py)",
        resource_type="user",
        resource_id=target.pk,
        before={"mfa_enabled": had_mfa},
        after={"mfa_enabled": False, "reason": reason[:200], "sessions_ended": ended},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return ended
