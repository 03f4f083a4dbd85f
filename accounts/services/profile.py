"""Writes on users (docs/api.md §3): profile updates and soft deletion."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.audit import audit_log_record
from accounts.departures import ACCOUNT_DELETED, user_departed
from accounts.errors import EmailTaken
from accounts.models import MfaDevice, User
from accounts.roles import Role
from accounts.services.email_change import PendingEmailChange, email_change_request
from accounts.sessions import sessions_revoke_for_user
from manas360.api.errors import ValidationFailed


@dataclass(frozen=True)
class ProfileUpdate:
    user: User
    email_change: PendingEmailChange | None = None


def user_update(
    *,
    user: User,
    actor: User,
    now: datetime,
    first_name: str | None = None,
    last_name: str | None = None,
    bio: str | None = None,
    timezone: str | None = None,
    language: str | None = None,
    profile_picture_url: str | None = None,
    email: str | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> ProfileUpdate:
    """Apply a profile PATCH (values validated by accounts.serializers.ProfileUpdateSerializer); `None` leaves a
    field as it is, `email=""` removes the address. A user's own new email is not applied: it becomes a pending
    change, confirmed by a code sent to the new address (accounts.services.email_change). An admin editing
    someone else sets it directly.
    """
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "bio": bio,
        "timezone": timezone,
        "language": language,
        "profile_picture_url": profile_picture_url,
    }
    changes: dict[str, str | None] = {field: value for field, value in fields.items() if value is not None}
    pending = None
    if email == "":
        if not user.phone_number or user.role == Role.ADMIN:
            raise ValidationFailed(errors={"email": ["An email address is required for this account."]})
        changes["email"] = None
    elif email is not None:
        changes["email"] = email
        if actor.pk == user.pk and email != user.email:
            del changes["email"]
            # First, outside any transaction (the code is delivered): a refusal (cooldown, hourly cap, delivery
            # failure) then leaves the rest of the profile unchanged too.
            pending = email_change_request(
                user=user, new_email=email, now=now, ip_address=ip_address, user_agent=user_agent
            )
    updated = _apply_changes(user=user, changes=changes, actor=actor, ip_address=ip_address, user_agent=user_agent)
    return ProfileUpdate(user=updated, email_change=pending)


@transaction.atomic
def _apply_changes(
    *, user: User, changes: dict[str, str | None], actor: User, ip_address: str | None, user_agent: str
) -> User:
    target = User.objects.select_for_update().get(pk=user.pk)
    email = changes.get("email")
    if email and email != target.email and User.objects.filter(email__iexact=email).exclude(pk=target.pk).exists():
        raise EmailTaken()
    changed = {field: value for field, value in changes.items() if getattr(target, field) != value}
    if changed:
        before = {field: getattr(target, field) for field in changed}
        for field, value in changed.items():
            setattr(target, field, value)
        try:
            with transaction.atomic():
                target.save(update_fields=[*changed, "updated_at"])
        except IntegrityError as exc:  # a concurrent update took the email
            raise EmailTaken() from exc
        if actor.pk != target.pk:
            audit_log_record(
                action="user.update",
                actor=actor,
                resource_type="user",
                resource_id=target.pk,
                before=before,
                after=changed,
                ip_address=ip_address,
                user_agent=user_agent,
            )
    return target


@transaction.atomic
def user_soft_delete(
    *, user: User, actor: User, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> None:
    """Scrub personal data, keep the row (payments reference it), end every session at once.

    What the account pays for stops with it (`accounts.departures`): Autopay's mandates are turned off in this
    transaction and cancelled at PhonePe right after it commits, before the answer.
    """
    target = User.objects.select_for_update().get(pk=user.pk)
    if target.deleted_at is not None:
        return
    target.email = None
    target.phone_number = None
    target.first_name = ""
    target.last_name = ""
    target.bio = ""
    target.profile_picture_url = ""
    target.is_active = False
    target.deleted_at = now
    target.set_unusable_password()
    target.save()
    MfaDevice.objects.filter(user=target).delete()
    sessions_revoke_for_user(user=target, reason="account_deleted", now=now)
    user_departed(user=target, actor=actor, reason=ACCOUNT_DELETED, now=now)
    audit_log_record(
        action="user.delete",
        actor=actor,
        resource_type="user",
        resource_id=target.pk,
        before={"deleted": False},
        after={"deleted": True, "by_self": actor.pk == target.pk},
        ip_address=ip_address,
        user_agent=user_agent,
    )
