"""Rupees for people, paise in the database: exact conversion both ways, refusals, the admin form field."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manas360.money import MAX_PAISE, RupeesField, format_rupees, paise_to_rupees, rupees_to_paise


@pytest.mark.parametrize(
    ("paise", "rupees", "shown"),
    [
        (29900, Decimal("299.00"), "₹299.00"),
        (1, Decimal("0.01"), "₹0.01"),
        (0, Decimal("0.00"), "₹0.00"),
        (12345678, Decimal("123456.78"), "₹123,456.78"),
    ],
)
def test_paise_to_rupees_and_display(paise, rupees, shown):
    assert paise_to_rupees(paise) == rupees
    assert str(paise_to_rupees(paise)) == f"{rupees:.2f}"
    assert format_rupees(paise) == shown


def test_format_rupees_with_another_symbol_and_none():
    assert format_rupees(29900, symbol="INR ") == "INR 299.00"
    assert format_rupees(None) == "-"


@pytest.mark.parametrize(
    ("text", "paise"),
    [
        ("299", 29900),
        ("299.00", 29900),
        ("299.5", 29950),
        ("₹299.00", 29900),
        ("₹ 1,299.50", 129950),
        ("1,00,000", 10000000),  # Indian digit grouping
        ("Rs. 49.99", 4999),
        ("INR 0.01", 1),
        (" 12.30 ", 1230),
        (".5", 50),
        ("0", 0),
    ],
)
def test_rupees_to_paise_accepts_what_people_type(text, paise):
    assert rupees_to_paise(text) == paise


@pytest.mark.parametrize(
    "text", ["299.999", "0.001", "-1", "abc", "", "1e3", "NaN", "Infinity", "₹", "29 900", "1.2.3", "٣٠٠"]
)
def test_rupees_to_paise_refuses_the_rest(text):
    with pytest.raises(ValueError, match=r"amount|decimals|negative"):
        rupees_to_paise(text)


def test_rupees_to_paise_never_takes_a_float():
    with pytest.raises(ValueError, match="never a float"):
        rupees_to_paise(299.99)
    with pytest.raises(TypeError):
        paise_to_rupees(299.99)


@given(st.integers(min_value=0, max_value=MAX_PAISE))
def test_round_trip_is_exact_for_every_amount(paise):
    assert rupees_to_paise(paise_to_rupees(paise)) == paise
    assert rupees_to_paise(format_rupees(paise)) == paise
    assert rupees_to_paise(f"{paise_to_rupees(paise):.2f}") == paise


def test_rupees_field_shows_rupees_and_cleans_to_paise():
    field = RupeesField(label="Price (₹)")
    assert field.prepare_value(29900) == "299.00"
    assert field.prepare_value("299.5") == "299.5"  # typed text re-shown as typed
    assert field.clean("299") == 29900
    assert field.clean("₹1,299.99") == 129999
    assert field.has_changed(29900, "299.00") is False
    assert field.has_changed(29900, "299.01") is True


@pytest.mark.parametrize("text", ["2.999", "-5", "lots", str(MAX_PAISE)])
def test_rupees_field_refuses_bad_or_too_large_amounts(text):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        RupeesField().clean(text)
