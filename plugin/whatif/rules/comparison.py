"""The live program and a draft side by side, from each customer's two simulated outcomes.

Redemptions are expected at the rate the shop's ledger shows (points redeemed / points issued):
each customer keeps ``issued - floor(issued × rate)``; what they keep expires when the program's
``expiry`` says their last earning is too old (expiry.py). The outstanding points are the
liability, worth ``point_value`` each (rewards.py, the same value analytics uses).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from plugin.loyalty.rules.expiry import is_expired
from plugin.loyalty.rules.money import Money, quantize
from plugin.loyalty.rules.program import Program
from plugin.loyalty.rules.rewards import point_value
from plugin.whatif.rules.simulation import CustomerOutcome

NO_TIER = "—"
LISTED_CHANGES = 100


@dataclass
class _Side:
    program: Program
    months: Counter[str] = field(default_factory=Counter)
    tiers: Counter[str] = field(default_factory=Counter)
    issued: int = 0
    redeemed: int = 0
    expired: int = 0

    def add(self, outcome: CustomerOutcome, rate: Fraction, now: datetime) -> None:
        total = outcome.total
        self.months.update(outcome.issued)
        self.tiers[outcome.tier or NO_TIER] += 1
        self.issued += total
        redeemed = math.floor(max(total, 0) * rate)
        self.redeemed += redeemed
        if is_expired(outcome.last_activity, self.program, now):
            self.expired += max(total - redeemed, 0)

    def merge(self, other: _Side) -> None:
        self.months.update(other.months)
        self.tiers.update(other.tiers)
        self.issued += other.issued
        self.redeemed += other.redeemed
        self.expired += other.expired

    def figures(self) -> dict[str, Any]:
        value = point_value(self.program)
        currency = self.program.currency
        outstanding = self.issued - self.redeemed - self.expired
        return {"issued": self.issued, "expected_redeemed": self.redeemed, "expired": self.expired,
                "outstanding": outstanding, "point_value": str(value),
                "liability": _money(value * outstanding, currency),
                "expected_redemptions": _money(value * self.redeemed, currency)}


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    money = Money(quantize(amount, currency), currency)
    return {"amount": str(money.amount), "currency": money.currency}


def redemption_rate(issued: int, redeemed: int) -> Fraction:
    """Points redeemed per point issued in the ledger, between 0 and 1 (0 without history)."""
    if issued <= 0 or redeemed <= 0:
        return Fraction(0)
    return min(Fraction(redeemed, issued), Fraction(1))


class Comparison:
    """Fed customer by customer; ``result`` is the JSON-ready report."""

    def __init__(self, live: Program, draft: Program, rate: Fraction, now: datetime) -> None:
        if live.currency != draft.currency:
            raise ValueError(f"the draft is in {draft.currency}, the shop's program in {live.currency}")
        self.live, self.draft = _Side(live), _Side(draft)
        self.rate, self.now = rate, now
        self.customers = 0
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.changed: list[dict[str, str]] = []
        self.listed_with_orders: int | None = None  # len(changed) when the customers without orders began

    def customers_without_orders_begin(self) -> None:
        """The customers added from now on have ledger events only (they come after the others,
        sorted by id: ``history.customer_histories``); ``merged`` keeps that order."""
        self.listed_with_orders = len(self.changed)

    @classmethod
    def merged(cls, parts: list[Comparison]) -> Comparison:
        """One comparison from parts fed disjoint ranges of customers, given in range order:
        the same as one comparison fed every customer in that order. Sums add up exactly; the
        listed customers are the first ``LISTED_CHANGES`` in the order one comparison would see
        them (customers with orders in range order, then the others by id — each part listed
        its own first ones of both, which is all the merged list can need)."""
        first = parts[0]
        merged = cls(first.live.program, first.draft.program, first.rate, first.now)
        with_orders: list[dict[str, str]] = []
        without: list[dict[str, str]] = []
        for part in parts:
            merged.customers += part.customers
            merged.live.merge(part.live)
            merged.draft.merge(part.draft)
            merged.transitions.update(part.transitions)
            split = len(part.changed) if part.listed_with_orders is None else part.listed_with_orders
            with_orders += part.changed[:split]
            without += part.changed[split:]
        merged.changed = (with_orders + sorted(without, key=lambda c: c["customer"]))[:LISTED_CHANGES]
        return merged

    def add(self, customer: str, live: CustomerOutcome, draft: CustomerOutcome) -> None:
        self.customers += 1
        self.live.add(live, self.rate, self.now)
        self.draft.add(draft, self.rate, self.now)
        before, after = live.tier or NO_TIER, draft.tier or NO_TIER
        if before != after:
            self.transitions[(before, after)] += 1
            if len(self.changed) < LISTED_CHANGES:
                self.changed.append({"customer": customer, "from": before, "to": after})

    def result(self) -> dict[str, Any]:
        months = sorted(set(self.live.months) | set(self.draft.months))
        names = [t.name for t in self.live.program.tiers]
        names += [t.name for t in self.draft.program.tiers if t.name not in names]
        names += sorted((set(self.live.tiers) | set(self.draft.tiers)) - set(names) - {NO_TIER}) + [NO_TIER]
        live, draft = self.live.figures(), self.draft.figures()
        change = Decimal(draft["liability"]["amount"]) - Decimal(live["liability"]["amount"])
        return {
            "currency": self.live.program.currency,
            "as_of": self.now.isoformat(),
            "customers": self.customers,
            "redemption_rate": str((Decimal(self.rate.numerator) / Decimal(self.rate.denominator))
                                   .quantize(Decimal("0.0001"))),
            "live": live,
            "draft": draft,
            "liability_change": {"amount": str(quantize(change, self.live.program.currency)),
                                 "currency": self.live.program.currency},
            "months": [{"month": m, "live": self.live.months.get(m, 0), "draft": self.draft.months.get(m, 0)}
                       for m in months],
            "tiers": [{"tier": n, "live": self.live.tiers.get(n, 0), "draft": self.draft.tiers.get(n, 0)}
                      for n in names if self.live.tiers.get(n) or self.draft.tiers.get(n) or n != NO_TIER],
            "tier_changes": {
                "count": sum(self.transitions.values()),
                "transitions": [{"from": a, "to": b, "customers": n}
                                for (a, b), n in sorted(self.transitions.items(), key=lambda kv: (-kv[1], kv[0]))],
                "customers": self.changed,
            },
        }
