"""Storing a customer's birthday: the shopper may give it once, the merchant may change it.

The birthday tick (``actions.birthdays_job``) pays ``actions.birthday`` points once a year.
"""
from __future__ import annotations

from datetime import date

from plugin.customers.profiles import BirthdayError, check_birthday
from plugin.models import Customer

__all__ = ["BirthdayError", "BirthdayLocked", "set_birthday"]


class BirthdayLocked(Exception):
    """The shopper already gave a different birthday; only the merchant may change it."""


def set_birthday(customer: Customer, value, today: date, *, by_merchant: bool) -> date:
    """Validate and store ``value`` (YYYY-MM-DD); the same date again is a no-op."""
    born = check_birthday(value, today)
    if customer.redacted_at is not None:
        raise BirthdayError("customer: this customer's data was erased at their request")
    if customer.birthday not in (None, born) and not by_merchant:
        raise BirthdayLocked("birthday: already saved; to change it, please contact the store")
    customer.birthday = born
    return born
