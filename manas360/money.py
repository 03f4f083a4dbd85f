"""Rupees for people, paise in the database: the one place that converts between them.

Every amount is stored as integer paise (₹1 = 100 paise). People read and type rupees with two decimals:
`₹299.00`. Conversion is exact (Decimal and integer arithmetic, never float): a value with more than two
decimals is refused rather than rounded, so what staff type is exactly what is stored.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

PAISE_PER_RUPEE = 100
CURRENCY_SYMBOL = "₹"
CURRENCY_CODE = "INR"
# Largest amount a PositiveIntegerField (the paise columns) holds on every database we run on.
MAX_PAISE = 2_147_483_647

# Optional ₹ / "Rs" / "INR" prefix, Indian or western digit grouping, at most two decimals.
_RUPEES = re.compile(r"^(?:₹|rs\.?|inr)?\s*(?P<number>[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)$", re.IGNORECASE)


def paise_to_rupees(paise: int) -> Decimal:
    """29900 -> Decimal('299.00'), exactly."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError("paise must be an int")
    return (Decimal(paise) / PAISE_PER_RUPEE).quantize(Decimal("0.01"))


def rupees_to_paise(rupees: Decimal | str | int) -> int:
    """Decimal('299.5') or '₹1,299.50' -> paise. Refuses fractions of a paisa, negatives and non-numbers."""
    if isinstance(rupees, (bool, float)):
        raise ValueError("use a Decimal or a string for rupees, never a float")
    if isinstance(rupees, str):
        match = _RUPEES.match(rupees.strip())
        if match is None:
            raise ValueError(f"not an amount in rupees: {rupees!r}")
        try:
            rupees = Decimal(match["number"].replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"not an amount in rupees: {rupees!r}") from None
    value = Decimal(rupees)
    if not value.is_finite():
        raise ValueError("not a finite amount")
    if value < 0:
        raise ValueError("an amount cannot be negative")
    paise = value * PAISE_PER_RUPEE
    if paise != paise.to_integral_value():
        raise ValueError("at most two decimals (whole paise)")
    return int(paise)


def format_rupees(paise: int | None, *, symbol: str = CURRENCY_SYMBOL) -> str:
    """29900 -> '₹299.00'; 12345678 -> '₹123,456.78'. `symbol="INR "` where ₹ cannot be drawn (PDF fonts)."""
    if paise is None:
        return "-"
    return f"{symbol}{paise_to_rupees(paise):,.2f}"


# Form validation codes of RupeesField (a form's, never an API error code).
INVALID, TOO_LARGE = "invalid", "too_large"


class RupeesField(forms.Field):
    """A form field for a paise column: shows `299.00`, accepts `299`, `299.5`, `₹1,299.50`; cleans to paise."""

    default_error_messages = {
        INVALID: "Enter an amount in rupees with at most two decimals, e.g. 299.00.",
        TOO_LARGE: "That amount is too large.",
    }

    def __init__(self, *, max_paise: int = MAX_PAISE, **kwargs: Any) -> None:
        self.max_paise = max_paise
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "299.00"}))
        kwargs.setdefault("help_text", "In rupees (₹), two decimals: stored exactly as paise.")
        super().__init__(**kwargs)

    def prepare_value(self, value: object) -> object:
        # The initial value is the model's paise; a re-shown bound form passes the typed text back unchanged.
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{paise_to_rupees(value):.2f}"
        return value

    def to_python(self, value: object) -> int | None:
        if value in self.empty_values:
            return None
        try:
            paise = rupees_to_paise(str(value))
        except ValueError:
            raise ValidationError(self.error_messages[INVALID], code=INVALID) from None
        if paise > self.max_paise:
            raise ValidationError(self.error_messages[TOO_LARGE], code=TOO_LARGE)
        return paise

    def has_changed(self, initial: object, data: object) -> bool:
        try:
            return self.to_python(data) != initial
        except ValidationError:
            return True


def rupees(amount_paise: int) -> int | float:
    """Paise to the rupee number the API's display fields carry (`amount: 299`, `amount: 299.5`).

    JSON has no decimal type: whole rupees stay integers, anything else is the nearest float. Display only:
    `amountPaise` beside it is authoritative, and nothing computes with this value.
    """
    return amount_paise // PAISE_PER_RUPEE if amount_paise % PAISE_PER_RUPEE == 0 else amount_paise / PAISE_PER_RUPEE
