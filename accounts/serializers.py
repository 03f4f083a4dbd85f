"""Request bodies of the accounts endpoints: typed fields (so the OpenAPI schema types them), validated here.

Fields are lenient where the services give the contract's own answer: a missing admin password is the same
401 `invalid_credentials` as a wrong one (no hint which part was wrong), and a malformed sign-in code is the
OTP service's 400. Identifiers are parsed into `identifier` (accounts.identifiers) by the serializer.
"""

import zoneinfo
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from accounts.errors import FieldNotAllowed
from accounts.identifiers import identifier_from_data, normalise_email
from accounts.roles import permissions_for_role
from manas360.api.errors import ValidationFailed


class StrictCharField(serializers.CharField):
    """A JSON string. DRF's CharField also turns numbers into strings; a code or a phone number sent as a number
    is the client's mistake and is answered as such."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _text(**kwargs):
    return StrictCharField(required=False, allow_blank=True, allow_null=True, **kwargs)


class IdentifierSerializer(serializers.Serializer):
    """`phoneNumber` (or `phone`) or `email`; the web app sends whatever was typed, phone numbers too, in `email`."""

    phone_number = _text(max_length=64, help_text="E.164 or a local Indian number, e.g. +919876543210.")
    phone = _text(max_length=64, help_text="Alias of phoneNumber.")
    email = _text(max_length=320, help_text="An email address, or a phone number typed into the email field.")

    def validate(self, attrs):
        attrs["identifier"] = identifier_from_data(attrs)
        return attrs


class SendOtpSerializer(IdentifierSerializer):
    pass


class VerifyOtpSerializer(IdentifierSerializer):
    otp = _text(max_length=32, help_text="The 6-digit code.")


class AdminLoginSerializer(serializers.Serializer):
    email = _text(max_length=320)
    password = _text(max_length=1024, trim_whitespace=False)


class VerifyMfaSerializer(serializers.Serializer):
    mfa_token = _text(max_length=4096, help_text="From the admin-login answer.")
    mfa_code = _text(max_length=32, help_text="A 6-digit TOTP code or a backup code.")


class RefreshSerializer(serializers.Serializer):
    refresh_token = _text(max_length=4096, help_text="Omit to use the refresh_token cookie.")


class LogoutSerializer(serializers.Serializer):
    all_devices = serializers.BooleanField(required=False, default=False, help_text="End every session of the user.")
    refresh_token = _text(max_length=4096)


class MfaEnableSerializer(serializers.Serializer):
    secret = _text(max_length=128, help_text="The secret from generate-secret (optional check).")
    mfa_code = _text(max_length=32)


class MfaDisableSerializer(serializers.Serializer):
    mfa_code = _text(max_length=32)
    password = _text(max_length=1024, trim_whitespace=False)


class EmailChangeSerializer(serializers.Serializer):
    email = StrictCharField(max_length=320, help_text="The new address; a code is sent to it.")


class EmailChangeConfirmSerializer(serializers.Serializer):
    code = _text(max_length=32, help_text="The 6-digit code sent to the new address.")


# --- Profile update (PATCH /users/me, /users/{id}) -------------------------------------------------------------

# Not writable through the profile API: answered 403 field_not_allowed (never silently ignored).
PROTECTED_PROFILE_FIELDS = frozenset(
    {
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
        "last_login",
        "subscription",
    }
)
DEFAULT_TIMEZONE = "Asia/Kolkata"
DEFAULT_LANGUAGE = "en"
_SEND_AN_OBJECT = "Send a JSON object."
_http_url = URLValidator(schemes=["http", "https"])


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _profile_text(max_length: int, **kwargs: Any) -> StrictCharField:
    """Free text: trimmed, `null` clears it (read as "")."""
    return StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=max_length,
        error_messages={"max_length": "At most {max_length} characters."},
        **kwargs,
    )


class _OneMessageField(StrictCharField):
    """A string checked as a whole, with one message for every way to get it wrong (wrong type, blank, invalid).
    Not trimmed: a value with spaces around it is not the value."""

    message = "Invalid value."

    allow_blank_values = False
    help = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs = {
            "required": False,
            "trim_whitespace": False,
            "allow_null": True,
            "allow_blank": self.allow_blank_values,
            "help_text": self.help,
            **kwargs,
        }
        super().__init__(**kwargs)
        self.error_messages.update(invalid=self.message, blank=self.message)


class TimezoneField(_OneMessageField):
    message = "Use an IANA time zone name, e.g. Asia/Kolkata."

    help = "An IANA name; null resets it to Asia/Kolkata."

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str) or data not in _timezones():
            self.fail("invalid")
        return data


class LanguageField(_OneMessageField):
    message = f"Supported languages: {', '.join(settings.SUPPORTED_LANGUAGES)}."

    help = f"One of {', '.join(settings.SUPPORTED_LANGUAGES)}; null resets it to en."

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str) or data.lower() not in settings.SUPPORTED_LANGUAGES:
            self.fail("invalid")
        return data.lower()


@extend_schema_field(OpenApiTypes.URI)
class HttpUrlField(_OneMessageField):
    message = "Use an http or https URL (at most 500 characters)."

    allow_blank_values = True
    help = 'An http(s) URL; null or "" removes it.'

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str) or len(data) > 500:
            self.fail("invalid")
        try:
            _http_url(data)
        except DjangoValidationError:
            self.fail("invalid")
        return data


@extend_schema_field(OpenApiTypes.EMAIL)
class ProfileEmailField(_OneMessageField):
    message = "Enter a valid email address."

    allow_blank_values = True
    help = 'Your own new address waits for the code sent to it; null or "" removes it (needs a phone number).'

    def to_internal_value(self, data: object) -> str:
        email = normalise_email(data) if isinstance(data, str) else None
        if email is None:
            self.fail("invalid")
        return email


class ProfileUpdateSerializer(serializers.Serializer):
    """Send only the fields to change; `null` clears a text field or resets a setting. A field the profile API
    never writes (role, status, phoneNumber, ...) is 403 `field_not_allowed`; any other unknown field is 400."""

    # `validated_data` is the keyword arguments of accounts.services.user_update: only the fields sent, aliases
    # resolved (name/full_name split into first and last name, avatar is profile_picture_url), null read as ""
    # or the default, and email "" meaning "remove it".

    default_error_messages = {"invalid": _SEND_AN_OBJECT}

    first_name = _profile_text(100)
    last_name = _profile_text(100)
    name = _profile_text(201, help_text="First name, a space, last name; firstName/lastName win when also sent.")
    full_name = _profile_text(201, help_text="Alias of name.")
    bio = _profile_text(2000)
    timezone = TimezoneField()
    language = LanguageField()
    profile_picture_url = HttpUrlField()
    avatar = HttpUrlField(help_text="Alias of profilePictureUrl (wins when both are sent).")
    email = ProfileEmailField()

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data is None:  # a `null` body: DRF would answer "No data provided"
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [_SEND_AN_OBJECT]})
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            protected = sorted(key for key in data if key in PROTECTED_PROFILE_FIELDS)
            if protected:
                raise FieldNotAllowed(
                    f"These fields cannot be changed here: {', '.join(protected)}.", extra={"fields": protected}
                )
            unknown = sorted(key for key in data if key not in self.fields)
            if unknown:
                raise ValidationFailed(
                    f"Unknown fields: {', '.join(unknown)}.", errors={key: ["Unknown field."] for key in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, str] = {}
        for alias in ("name", "full_name"):
            if alias in attrs:
                first, _, last = (attrs[alias] or "").partition(" ")
                changes["first_name"], changes["last_name"] = first[:100], last.strip()[:100]
        for field in ("first_name", "last_name", "bio"):
            if field in attrs:
                changes[field] = attrs[field] or ""
        if "timezone" in attrs:
            changes["timezone"] = attrs["timezone"] or DEFAULT_TIMEZONE
        if "language" in attrs:
            changes["language"] = attrs["language"] or DEFAULT_LANGUAGE
        for alias in ("profile_picture_url", "avatar"):
            if alias in attrs:
                changes["profile_picture_url"] = attrs[alias] or ""
        if "email" in attrs:
            changes["email"] = attrs["email"] or ""
        return changes


# --- Output -----------------------------------------------------------------------------------------------------
# Every accounts answer is one of these: the OpenAPI schema shows their fields, and no view builds a dict.


class PermissionsSerializer(serializers.Serializer):
    permissions = serializers.ListField(child=serializers.CharField())


class UserSerializer(serializers.Serializer):
    """The user object of docs/api.md §2/§3. Permissions: context `permissions` (the session's), else the role's."""

    id = serializers.UUIDField()
    email = serializers.CharField(allow_null=True)
    phone_number = serializers.CharField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField()
    permissions = serializers.SerializerMethodField()
    admin_metadata = serializers.SerializerMethodField()
    profile_picture_url = serializers.SerializerMethodField()
    bio = serializers.CharField()
    timezone = serializers.CharField()
    language = serializers.CharField()
    is_verified = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_permissions(self, user: Any) -> list[str]:
        permissions = self.context.get("permissions")
        return list(permissions) if permissions is not None else permissions_for_role(user.role)

    @extend_schema_field(PermissionsSerializer)
    def get_admin_metadata(self, user: Any) -> dict[str, Any]:
        return {"permissions": self.get_permissions(user)}

    def get_profile_picture_url(self, user: Any) -> str | None:
        return user.profile_picture_url or None


class TokensSerializer(serializers.Serializer):
    """The tokens of a session, for clients that do not use the cookies."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class SignedInSerializer(serializers.Serializer):
    """verify-otp, verify-mfa and a not-enrolled admin login (docs/api.md §2)."""

    user = UserSerializer()
    tokens = TokensSerializer()
    is_new_user = serializers.BooleanField(required=False, help_text="verify-otp only: the account was just made.")
    mfa_required = serializers.BooleanField(required=False, help_text="admin-login only.")
    mfa_enrollment_required = serializers.BooleanField(required=False, help_text="admin-login only.")


def _without_dev_code(data: dict[str, Any]) -> dict[str, Any]:
    """`devOtp` only where codes are shown for development (the service sets it only then)."""
    if data.get("dev_otp") is None:
        data.pop("dev_otp", None)
    return data


class OtpSentSerializer(serializers.Serializer):
    otp_id = serializers.CharField()
    channel = serializers.CharField(help_text="sms or email.")
    expires_in = serializers.IntegerField(help_text="Seconds the code is valid.")
    resend_in = serializers.IntegerField(help_text="Seconds before another code may be asked for.")
    dev_otp = serializers.CharField(source="dev_code", required=False, help_text="Development only: the code.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return _without_dev_code(super().to_representation(instance))


class MfaChallengeSerializer(serializers.Serializer):
    """admin-login of an enrolled admin: the second step's token."""

    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the MFA token is valid.")


class RefreshedSerializer(serializers.Serializer):
    expires_in = serializers.IntegerField(help_text="Seconds until the new access token expires.")
    tokens = TokensSerializer(required=False, help_text="Only when the refresh token came in the body.")


class MfaStatusSerializer(serializers.Serializer):
    mfa_enabled = serializers.BooleanField()
    enabled_at = serializers.DateTimeField(allow_null=True)
    backup_codes_remaining = serializers.IntegerField()
    pending_setup = serializers.BooleanField()


class MfaSecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    otpauth_url = serializers.CharField()
    qr_code = serializers.CharField(help_text="A data:image/png URL of the otpauth URL.")
    backup_codes = serializers.ListField(child=serializers.CharField())


class MfaStateSerializer(serializers.Serializer):
    mfa_enabled = serializers.BooleanField()


class EmailChangePendingSerializer(serializers.Serializer):
    """A code went to the new address; nothing changes until it is confirmed."""

    pending_email = serializers.EmailField(source="email")
    email_change_pending = serializers.SerializerMethodField()
    expires_in = serializers.IntegerField()
    resend_in = serializers.IntegerField()
    dev_otp = serializers.CharField(source="dev_code", required=False, help_text="Development only: the code.")

    def get_email_change_pending(self, pending: Any) -> bool:
        return True

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return _without_dev_code(super().to_representation(instance))


class ProfileSerializer(UserSerializer):
    """`GET/PATCH /users/me` and `/users/{id}`: the user, the sections other apps add (context `sections`) and,
    after an email change was asked for, the pending address (context `email_change`)."""

    subscription = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.DictField(allow_null=True, help_text="The active subscription as /subscriptions/current shows it.")
    )
    def get_subscription(self, user: Any) -> object:
        return self.context.get("sections", {}).get("subscription")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        sections = self.context.get("sections")
        if sections is None:
            data.pop("subscription")
        else:
            data.update(sections)
        email_change = self.context.get("email_change")
        if email_change is not None:
            # The address is not the user's yet: `email` stays the current one; the pending one is reported apart.
            data.update(EmailChangePendingSerializer(email_change).data)
        return data
