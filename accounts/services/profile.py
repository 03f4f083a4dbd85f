"""Writes on users (docs/api.md §3): profile updates and soft deletion."""

import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.errors import EmailTaken, FieldNotAllowed
from accounts.identifiers import normalise_email
from accounts.models import MfaDevice, User
from accounts.roles import Role
from accounts.services.email_change import PendingEmailChange, email_change_request
from accounts.sessions import sessions_revoke_for_user
from manas360.api.errors import ValidationFailed

EDITABLE_FIELDS = {
    "first_name",
    "last_name",
    "name",
    "full_name",
    "bio",
    "timezone",
    "language",
    "profile_picture_url",
    "avatar",
    "email",
}
# Not writable through the profile API: answered 403 field_not_allowed (never silently ignored).
PROTECTED_FIELDS = {
    "id",
    "role",
    "status",
    "permissions",
    "admin_metadata",
    "is_active",
    "is_verified",
    "is_staff",
    "is_superuser",
    "phone_number",
    "phone",
    "password",
    "deleted_at",
    "created_at",
    "updated_at",
    "locked_until",
    "last_login",
    "subscription",
}
DEFAULT_TIMEZONE = "Asia/Kolkata"
DEFAULT_LANGUAGE = "en"
_http_url = URLValidator(schemes=["http", "https"])


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _text(value, *, field: str, max_length: int, errors: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = ["Must be a string."]
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors[field] = [f"At most {max_length} characters."]
    return value


def _changes_from(*, user: User, data: dict) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object.", errors={"non_field_errors": ["Send a JSON object."]})
    protected = sorted(key for key in data if key in PROTECTED_FIELDS)
    if protected:
        raise FieldNotAllowed(
            f"These fields cannot be changed here: {', '.join(protected)}.", extra={"fields": protected}
        )
    unknown = sorted(key for key in data if key not in EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"Unknown fields: {', '.join(unknown)}.", errors={key: ["Unknown field."] for key in unknown}
        )
    errors: dict[str, list[str]] = {}
    changes: dict = {}
    for alias in ("name", "full_name"):
        if alias in data:
            full = _text(data[alias], field=alias, max_length=201, errors=errors)
            first, _, last = full.partition(" ")
            changes["first_name"], changes["last_name"] = first[:100], last.strip()[:100]
    for field in ("first_name", "last_name"):
        if field in data:
            changes[field] = _text(data[field], field=field, max_length=100, errors=errors)
    if "bio" in data:
        changes["bio"] = _text(data["bio"], field="bio", max_length=2000, errors=errors)
    if "timezone" in data:
        value = data["timezone"]
        if value is None:
            changes["timezone"] = DEFAULT_TIMEZONE
        elif isinstance(value, str) and value in _timezones():
            changes["timezone"] = value
        else:
            errors["timezone"] = ["Use an IANA time zone name, e.g. Asia/Kolkata."]
    if "language" in data:
        value = data["language"]
        if value is None:
            changes["language"] = DEFAULT_LANGUAGE
        elif isinstance(value, str) and value.lower() in settings.SUPPORTED_LANGUAGES:
            changes["language"] = value.lower()
        else:
            errors["language"] = [f"Supported languages: {', '.join(settings.SUPPORTED_LANGUAGES)}."]
    for alias in ("profile_picture_url", "avatar"):
        if alias in data:
            value = data[alias]
            if value in (None, ""):
                changes["profile_picture_url"] = ""
                continue
            try:
                if not isinstance(value, str) or len(value) > 500:
                    raise ValidationError("bad")
                _http_url(value)
            except ValidationError:
                errors[alias] = ["Use an http or https URL (at most 500 characters)."]
                continue
            changes["profile_picture_url"] = value
    if "email" in data:
        value = data["email"]
        if value in (None, ""):
            if not user.phone_number or user.role == Role.ADMIN:
                errors["email"] = ["An email address is required for this account."]
            changes["email"] = None
        else:
            email = normalise_email(value) if isinstance(value, str) else None
            if email is None:
                errors["email"] = ["Enter a valid email address."]
            changes["email"] = email
    if errors:
        raise ValidationFailed(errors=errors)
    return changes


@dataclass(frozen=True)
class ProfileUpdate:
    user: User
    email_change: PendingEmailChange | None = None


def user_update(*, user: User, data: dict, actor: User, ip_address=None, user_agent="") -> ProfileUpdate:
    """Apply a profile PATCH. A user's own new email is not applied: it becomes a pending change, confirmed
    by a code sent to the new address (accounts.services.email_change). An admin editing someone else sets it directly.
    """
    changes = _changes_from(user=user, data=data)
    new_email = changes.get("email")
    needs_proof = actor.pk == user.pk and new_email is not None and new_email != user.email
    pending = None
    if needs_proof:
        del changes["email"]
        # First, outside any transaction (the code is delivered): a refusal (cooldown, hourly cap, delivery
        # failure) then leaves the rest of the profile unchanged too.
        pending = email_change_request(user=user, new_email=new_email, ip_address=ip_address, user_agent=user_agent)
    updated = _apply_changes(user=user, changes=changes, actor=actor, ip_address=ip_address, user_agent=user_agent)
    return ProfileUpdate(user=updated, email_change=pending)


@transaction.atomic
def _apply_changes(*, user: User, changes: dict, actor: User, ip_address, user_agent) -> User:
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
def user_soft_delete(*, user: User, actor: User, ip_address=None, user_agent="") -> None:
    """Scrub personal data, keep the row (payments reference it), end every session at once."""
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
    target.deleted_at = timezone.now()
    target.set_unusable_password()
    target.save()
    MfaDevice.objects.filter(user=target).delete()
    sessions_revoke_for_user(user=target, reason="account_deleted")
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
