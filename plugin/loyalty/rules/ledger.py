"""The points ledger: append-only entries, balances derived by folding them.

Every entry moves points between two buckets, each as a signed delta:

- ``pending``: earned but not yet spendable (the refund window, earn.pending_days);
- ``available``: spendable.

Kinds and the deltas they carry:

========================  ==========================================
earn                      +pending (or +available when pending_days=0)
release                   -pending +available, settles one earn/referral (``ref``)
clawback                  -pending -available for a refund or cancellation (``ref`` = earn key)
redeem                    -available for a reward code
redeem_refund             +available when a reward code expired unused / failed
expire                    -available after inactivity
adjust                    +/- available, a merchant's manual correction
action                    +available for signup, birthday, marketing consent
referral                  +pending (or +available) for the advocate
tier_bonus                +available on reaching a tier (entry_points)
========================  ==========================================

Each entry has a unique idempotency ``key`` (``order:<id>:earn``); writing the
same key twice is a no-op, which is how webhook replays stay harmless. The
database enforces it with a unique index; ``append`` mirrors it in memory.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from plugin.loyalty.rules.earning import parse_id

KINDS = (
    "earn", "release", "clawback", "redeem", "redeem_refund",
    "expire", "adjust", "action", "referral", "tier_bonus",
)


@dataclass(frozen=True)
class Entry:
    """One ledger row; ``ref`` points at the entry this one settles."""

    key: str
    kind: str
    available: int = 0
    pending: int = 0
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown ledger kind {self.kind!r}")
        for name in ("available", "pending"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be int points, got {value!r}")


@dataclass(frozen=True)
class Balance:
    available: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.available + self.pending


def balance_of(entries: Iterable[Entry]) -> Balance:
    """Sum of every entry's deltas: the only way a balance is ever known."""
    available = pending = 0
    for entry in entries:
        available += entry.available
        pending += entry.pending
    return Balance(available, pending)


def append(entries: tuple[Entry, ...], entry: Entry) -> tuple[tuple[Entry, ...], bool]:
    """Add ``entry`` unless its key exists (INSERT ... ON CONFLICT DO NOTHING)."""
    if any(e.key == entry.key for e in entries):
        return entries, False
    return entries + (entry,), True


def pending_of(entries: Iterable[Entry], ref: str) -> int:
    """Points of entry ``ref`` still pending (its own delta minus what settled it)."""
    return sum(e.pending for e in entries if e.key == ref or e.ref == ref)


Id = int | str | Decimal
"""An order, refund, customer or row id as Shopify or our tables give it."""


# ---------------------------------------------------------------- constructors

def earn_entry(order_id: Id, points: int, pending: bool) -> Entry:
    """Points for a paid order, pending during the refund window."""
    key = earn_key(order_id)
    return Entry(key, "earn", pending=points) if pending else Entry(key, "earn", available=points)


def release_entry(entries: Iterable[Entry], ref: str) -> Entry | None:
    """Move what is still pending of ``ref`` to available; None if nothing is left."""
    entries = tuple(entries)
    remaining = pending_of(entries, ref)
    if remaining <= 0:
        return None
    return Entry(release_key(ref), "release", available=remaining, pending=-remaining, ref=ref)


def clawback_entry(key: str, earn_ref: str, from_pending: int, from_available: int) -> Entry:
    """Points taken back for a refund (``clawback_key``) or cancellation (``cancel_key``)."""
    return Entry(key, "clawback", available=-from_available, pending=-from_pending, ref=earn_ref)


def expire_entry(customer_id: Id, at_date: date, balance: Balance) -> Entry | None:
    """Expire every available point; pending points are too recent to expire."""
    if balance.available <= 0:
        return None
    return Entry(expire_key(customer_id, at_date), "expire", available=-balance.available)


def redeem_entry(redemption_id: Id, cost: int, balance: Balance) -> Entry:
    """Spend ``cost`` available points; refuses to go below zero."""
    if cost <= 0:
        raise ValueError("reward cost must be positive")
    if cost > balance.available:
        raise InsufficientPoints(cost, balance.available)
    return Entry(redeem_key(redemption_id), "redeem", available=-cost)


class InsufficientPoints(ValueError):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"needs {needed} points, {available} available")
        self.needed = needed
        self.available = available


# ---------------------------------------------------------------- keys

def key_part(value: Id) -> str:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        parsed = parse_id(value)
        if parsed is not None:
            return parsed
    if isinstance(value, str) and value.strip():
        return quote(value.strip(), safe="")
    raise ValueError(f"not an id: {value!r}")


def earn_key(order_id: Id) -> str:
    return f"order:{key_part(order_id)}:earn"


def cancel_key(order_id: Id) -> str:
    return f"order:{key_part(order_id)}:cancel"


def clawback_key(refund_id: Id) -> str:
    return f"refund:{key_part(refund_id)}:clawback"


def release_key(entry_id: Id) -> str:
    """``order:7:earn:release`` for one of our keys, ``entry:<id>:release`` for a row id."""
    if isinstance(entry_id, str) and ":" in entry_id and not any(c.isspace() for c in entry_id):
        return f"{entry_id}:release"
    return f"entry:{key_part(entry_id)}:release"


def redeem_key(redemption_id: Id) -> str:
    return f"redemption:{key_part(redemption_id)}:redeem"


def redeem_refund_key(redemption_id: Id) -> str:
    return f"redemption:{key_part(redemption_id)}:refund"


def expire_key(customer_id: Id, at_date: date) -> str:
    return f"customer:{key_part(customer_id)}:expire:{at_date.isoformat()}"


def action_key(kind: str, customer_id: Id, period: str | int = "once") -> str:
    """E.g. ``customer:7:action:birthday:2026``: one birthday bonus per year."""
    return f"customer:{key_part(customer_id)}:action:{key_part(kind)}:{key_part(str(period))}"


def referral_key(friend_order_id: Id) -> str:
    """One advocate reward per referred friend's first order."""
    return f"referral:{key_part(friend_order_id)}:advocate"


def tier_bonus_key(customer_id: Id, tier_name: str) -> str:
    """Entry points once per tier per customer, so down-and-up again pays nothing."""
    return f"customer:{key_part(customer_id)}:tier_bonus:{key_part(tier_name)}"


def adjust_key(adjustment_id: Id) -> str:
    return f"adjust:{key_part(adjustment_id)}"
