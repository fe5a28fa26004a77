"""What GET /proxy/customer reads from the ledger, kept per web process until it could change.

The widget asks on every storefront page view, and most of its CPU went on the ledger: the tier
metrics over the window (thousands of rows for a loyal shopper), the next release and the latest
entries (bench/RESULTS.md, App Proxy read). Those depend only on the shopper's ledger and on the
clock, so an entry is used only while both are provably unchanged:

* the ledger: entries are append-only and every insert runs under the customer's row lock
  (``balances.post_entry``), taking its id from the table's sequence after the lock — so a
  customer's ids grow in commit order and the largest id committed names the ledger's state.
  Postgres sequences hand out increasing values ("nextval … Advance the sequence object to its
  next value", CACHE defaults to 1: https://www.postgresql.org/docs/current/sql-createsequence.html);
* the clock: the entry says until when it holds (``stable_until``): the next pending release,
  and when the window's oldest entry leaves a rolling window or a calendar year ends.

Everything else in the answer (balance, tier, name, locale, referral counts, codes, the program)
is read or built afresh on every request, so the cache holds no personal data — a redacted
shopper's facts are the ledger's, which redaction keeps — and nothing needs purging.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from plugin.loyalty.rules.tiers import ROLLING

EXTENSION_KEY = "embajador_proxy_facts"


@dataclass(frozen=True)
class LedgerFacts:
    customer_id: int
    ledger_version: int                   # the customer's largest ledger entry id (0: none)
    tier_period: str
    computed_at: datetime                 # the ``now`` these were read for
    stable_until: datetime | None         # None: only a new ledger entry changes these
    metrics: dict[str, Decimal]
    next_release_at: datetime | None      # raw: the earliest pending release after the read
    activity: tuple[dict[str, Any], ...]  # shared between answers: never mutated

    def usable(self, customer_id: int, ledger_version: int, tier_period: str, now: datetime) -> bool:
        # ``computed_at <= now``: a request whose clock reading came before this entry's (threads
        # overlap) may sit before a release or window edge this entry was read past.
        return (customer_id == self.customer_id and ledger_version == self.ledger_version
                and tier_period == self.tier_period and self.computed_at <= now
                and (self.stable_until is None or now < self.stable_until))


def stable_until(tier_period: str, window_end: datetime | None, oldest_in_window: datetime | None,
                 next_release: datetime | None) -> datetime | None:
    """The first instant a fresh read could differ without a new ledger entry.

    A rolling window drops its oldest entry once ``now - ROLLING`` passes it; a calendar year
    ends; the next release leaves the "next release" and the entry's ``available_at`` in the
    activity (which shows only releases after now, all at or after the next one)."""
    moments = [next_release]
    if tier_period == "rolling_12_months" and oldest_in_window is not None:
        moments.append(oldest_in_window + ROLLING)
    if window_end is not None:
        moments.append(window_end)
    present = [m for m in moments if m is not None]
    return min(present) if present else None


class FactsCache:
    """A bounded LRU of ``LedgerFacts`` per (shop id, Shopify customer id), safe across threads."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple[int, str], LedgerFacts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, shop_id: int, shopify_id: str) -> LedgerFacts | None:
        with self._lock:
            facts = self._entries.get((shop_id, shopify_id))
            if facts is not None:
                self._entries.move_to_end((shop_id, shopify_id))
            return facts

    def put(self, shop_id: int, shopify_id: str, facts: LedgerFacts) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[(shop_id, shopify_id)] = facts
            self._entries.move_to_end((shop_id, shopify_id))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
