"""Money as an exact Decimal plus an ISO-4217 currency.

Floats are refused everywhere: Shopify sends amounts as strings and ids above
2**53, and a single float turns 0.1 + 0.2 into a balance drift. Minor units come
from Babel (CLDR): CLP, JPY and ISK have none, USD two, KWD three.

Rounding is ROUND_HALF_UP ("commercial" rounding): it is what shoppers and
Shopify's own checkout show, so 0.5 CLP becomes 1 CLP rather than banker's 0.
Points never use this rounding; they are always floored (see earning.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, total_ordering

from babel.numbers import format_currency, get_currency_precision, is_currency

ROUNDING = ROUND_HALF_UP


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is an upper-case ISO-4217 code Babel knows."""
    if not isinstance(currency, str) or currency != currency.upper() or not _known(currency):
        raise ValueError(f"unknown currency code {currency!r}")
    return currency


@cache
def _known(currency: str) -> bool:
    # Every Money checks its currency; Babel's lookup builds a set each call (the what-if
    # creates millions of Money values), and the answer for a code never changes.
    return bool(is_currency(currency))


def minor_units(currency: str) -> int:
    """Number of decimals the currency is settled in (CLP 0, USD 2, KWD 3)."""
    return get_currency_precision(check_currency(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the currency's minor units, half up."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return to_decimal(amount).quantize(exponent, rounding=ROUNDING)


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse an exact decimal; floats and bools raise TypeError, junk ValueError."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"refusing {type(value).__name__} {value!r}: use str, int or Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise TypeError(f"refusing {type(value).__name__} {value!r}: use str, int or Decimal")
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return result


def decimals_of(value: Decimal) -> int:
    """Significant decimals written, ignoring trailing zeros ("5000.00" has 0)."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@total_ordering
@dataclass(frozen=True)
class Money:
    """An exact amount in one currency; arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def quantized(self) -> Money:
        """This amount rounded to the currency's minor units."""
        return Money(quantize(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        return f"{quantize(self.amount, self.currency)} {self.currency}"


def money(value: str | int | Decimal, currency: str) -> Money:
    """Build Money from a str/int/Decimal; a float raises TypeError."""
    return Money(to_decimal(value), currency)


def format_money(value: Money, locale: str) -> str:
    """Shopper-facing text, e.g. ``$5.000`` for 5000 CLP in es_CL."""
    return format_currency(quantize(value.amount, value.currency), value.currency, locale=locale)
