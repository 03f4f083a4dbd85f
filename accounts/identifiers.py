"""Sign-in identifiers: phone numbers (E.164 via libphonenumber, default region IN) or emails.

The web app sends whatever the user typed in `email`, phone numbers included (docs/web-client.md), so an
`email` value that parses as a phone number is treated as one. `phone` is an alias of `phoneNumber`.
"""

import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from manas360.api.errors import ValidationFailed

PHONE_REGION = "IN"
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,24}$")


@dataclass(frozen=True)
class Identifier:
    kind: str  # "phone" or "email"
    value: str  # E.164 or lower-cased email


def normalise_phone(raw: str) -> str | None:
    """E.164 for a valid Indian or international number, else None."""
    if not isinstance(raw, str) or not _PHONE_LIKE.match(raw.strip()):
        return None
    try:
        number = phonenumbers.parse(raw.strip(), PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    if not isinstance(raw, str):
        return None
    value = raw.strip().lower()
    if len(value) > 254:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def _raw_fields(data: object) -> tuple[object, object]:
    if not isinstance(data, dict):
        return None, None
    phone = data.get("phone_number")
    if phone in (None, ""):
        phone = data.get("phone")
    return phone, data.get("email")


def identifier_from_data(data: object) -> Identifier:
    """The identifier of a send-otp / verify-otp body; 400 validation_error when missing or malformed."""
    phone, email = _raw_fields(data)
    if phone not in (None, ""):
        value = normalise_phone(phone) if isinstance(phone, str) else None
        if value is None:
            raise ValidationFailed(
                "Enter a valid phone number.", errors={"phoneNumber": ["Enter a valid phone number."]}
            )
        return Identifier("phone", value)
    if email not in (None, ""):
        if isinstance(email, str):
            as_phone = normalise_phone(email)
            if as_phone is not None:
                return Identifier("phone", as_phone)
            as_email = normalise_email(email)
            if as_email is not None:
                return Identifier("email", as_email)
        raise ValidationFailed(
            "Enter a valid email address or phone number.",
            errors={"email": ["Enter a valid email address or phone number."]},
        )
    raise ValidationFailed(
        "Enter your phone number or email address.",
        errors={"phoneNumber": ["Enter your phone number or email address."]},
    )


def throttle_identifier(data: object) -> str | None:
    """The key of the per-identifier rate limits (the normalised identifier when it parses)."""
    try:
        return identifier_from_data(data).value
    except ValidationFailed:
        phone, email = _raw_fields(data)
        raw = phone if phone not in (None, "") else email
        return str(raw).strip().lower()[:254] if isinstance(raw, str) and raw.strip() else None
