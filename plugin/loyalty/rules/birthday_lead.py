"""Pure rule: does a birthday pay out this year, given when it was saved?

A birthday saved fewer than ``lead_days`` days before this year's occurrence first pays
the following year, so typing today's date (or tomorrow's) never earns points at once.
A birthday with no recorded save date (set by the merchant, or before this rule) pays.
"""
from __future__ import annotations

from datetime import date


def birthday_pays(occurrence: date, saved_on: date | None, lead_days: int) -> bool:
    """True when the birthday falling on ``occurrence`` earns its points."""
    if saved_on is None:
        return True
    return (occurrence - saved_on).days >= lead_days
