"""Numbers, money and dates the way a shopper reads them in their country:
"$5.000" in Chile, "$1,234.50" in Mexico, "12,50 €" in Spain."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from babel import dates as babel_dates
from babel import numbers as babel_numbers


@dataclass(frozen=True)
class Money:
    """An amount in a currency (ISO 4217). Never a float."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money.amount must be a Decimal (or str/int), not float")
        object.__setattr__(self, "amount", Decimal(str(self.amount)))
        object.__setattr__(self, "currency", self.currency.upper())


@dataclass(frozen=True)
class Discount:
    """A reward a shopper gets: ``percentage`` (value 10 = 10 %) or
    ``fixed_amount`` (value in ``currency``), as in the program document."""

    type: Literal["percentage", "fixed_amount"]
    value: Decimal
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("percentage", "fixed_amount"):
            raise ValueError(f"Discount.type must be percentage or fixed_amount, not {self.type!r}")
        if self.type == "fixed_amount" and not self.currency:
            raise ValueError("a fixed_amount Discount needs a currency")
        object.__setattr__(self, "value", Decimal(str(self.value)))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor units (none for CLP and JPY)."""
    digits = babel_numbers.get_currency_precision(currency.upper())
    return Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """``amount`` in ``currency`` for ``locale`` (a Babel id such as ``es_CL``)."""
    if isinstance(amount, float):
        raise TypeError("format_money needs a Decimal, not float")
    rounded = round_money(Decimal(amount), currency)
    return babel_numbers.format_currency(rounded, currency.upper(), locale=locale)


def format_points(n: int, locale: str) -> str:
    """A points count with the locale's grouping ("12.500" / "12,500")."""
    return babel_numbers.format_decimal(int(n), locale=locale)


def format_percent(value: Decimal, locale: str) -> str:
    """``value`` given as 10 for 10 % (how the program document writes it)."""
    return babel_numbers.format_percent(Decimal(value) / 100, locale=locale)


def format_discount(discount: Discount, locale: str) -> str:
    """"10 %" or "$5.000": what the code is worth, ready for a sentence."""
    if discount.type == "percentage":
        return format_percent(discount.value, locale)
    return format_money(discount.value, discount.currency or "", locale)


def format_date(value: dt.date | dt.datetime, locale: str, format: str = "long") -> str:
    """A calendar date ("15 de marzo de 2026", "March 15, 2026")."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return babel_dates.format_date(value, format=format, locale=locale)
