"""Request bodies of the accounts endpoints: typed fields (so the OpenAPI schema types them), validated here.

Fields are lenient where the services give the contract's own answer: a missing admin password is the same
401 `invalid_credentials` as a wrong one (no hint which part was wrong), and a malformed sign-in code is the
OTP service's 400. Identifiers are parsed into `identifier` (accounts.identifiers) by the serializer.
"""

from rest_framework import serializers

from accounts.identifiers import identifier_from_data


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


def validated(serializer_class, request) -> dict:
    """The validated body of `request` (400 `validation_error` otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
