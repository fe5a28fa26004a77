from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.loyalty.rules.money import (
    CurrencyMismatch,
    Money,
    format_money,
    minor_units,
    money,
    quantize,
    to_decimal,
)


@pytest.mark.parametrize("currency, places", [("CLP", 0), ("JPY", 0), ("USD", 2), ("HKD", 2), ("KWD", 3)])
def test_minor_units_follow_the_currency(currency, places):
    assert minor_units(currency) == places


@pytest.mark.parametrize("code", ["ZZZ", "usd", "", "US", None])
def test_unknown_or_lowercase_currency_is_refused(code):
    with pytest.raises(ValueError):
        minor_units(code)


@pytest.mark.parametrize("amount, currency, expected", [
    ("4999.5", "CLP", "5000"),
    ("4998.5", "CLP", "4999"),   # half up, not banker's (which would give 4998)
    ("0.125", "USD", "0.13"),
    ("0.115", "USD", "0.12"),
    ("1.2345", "KWD", "1.235"),
    ("100", "JPY", "100"),
])
def test_quantize_rounds_half_up_to_minor_units(amount, currency, expected):
    assert str(quantize(Decimal(amount), currency)) == expected


def test_float_is_refused_everywhere():
    with pytest.raises(TypeError):
        money(19.99, "USD")
    with pytest.raises(TypeError):
        Money(0.1, "USD")
    with pytest.raises(TypeError):
        to_decimal(True)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "1,5"])
def test_junk_amounts_are_refused(bad):
    with pytest.raises(ValueError):
        money(bad, "USD")


def test_money_parses_strings_ints_and_decimals_exactly():
    assert money("0.10", "USD") + money("0.20", "USD") == money("0.3", "USD")
    assert money(5000, "CLP").amount == Decimal(5000)
    assert money(Decimal("1.005"), "KWD").amount == Decimal("1.005")


def test_currencies_never_mix():
    with pytest.raises(CurrencyMismatch):
        money("1", "USD") + money("1", "CAD")
    with pytest.raises(CurrencyMismatch):
        _ = money("1", "USD") < money("2", "CAD")
    assert money("1", "USD") != money("1", "CAD")


def test_money_orders_and_prints_rounded():
    assert money("1.5", "USD") < money("2", "USD")
    assert str(money("4999.5", "CLP")) == "5000 CLP"
    assert money("2.675", "USD").quantized() == money("2.68", "USD")


def test_shopper_sees_local_formatting():
    assert format_money(money("5000", "CLP"), "es_CL") == "$5.000"
    assert format_money(money("1234.5", "USD"), "en_US") == "$1,234.50"


@given(
    st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=6),
    st.sampled_from(["CLP", "JPY", "USD", "KWD", "EUR"]),
)
def test_quantize_respects_minor_units_and_stays_within_half_a_unit(amount, currency):
    rounded = quantize(amount, currency)
    places = minor_units(currency)
    assert -rounded.as_tuple().exponent == places
    assert abs(rounded - amount) <= Decimal(1).scaleb(-places) / 2
    assert quantize(rounded, currency) == rounded
