"""Kept widget facts are used only from the moment they were read until they could change.

Two requests of one gunicorn process overlap (threads): one that took its clock reading
just before a pending release falls due must not be answered with facts another request read
just after it, which no longer show that release (a fresh read at its moment would)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from plugin.storefront.facts_cache import FactsCache, LedgerFacts

RELEASE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def kept(computed_at: datetime) -> LedgerFacts:
    return LedgerFacts(customer_id=7, ledger_version=41, tier_period="lifetime", computed_at=computed_at,
                       stable_until=RELEASE + timedelta(days=30), metrics={"spend": Decimal("10")},
                       next_release_at=RELEASE + timedelta(days=30), activity=())


def test_facts_read_after_a_release_are_not_used_for_a_request_timed_before_it():
    after = kept(computed_at=RELEASE + timedelta(milliseconds=10))
    assert not after.usable(7, 41, "lifetime", RELEASE - timedelta(milliseconds=10))
    assert after.usable(7, 41, "lifetime", RELEASE + timedelta(milliseconds=10))
    assert after.usable(7, 41, "lifetime", RELEASE + timedelta(days=29))


def test_kept_facts_serve_only_their_own_customer_ledger_and_period():
    cache = FactsCache(size=1)
    facts = kept(computed_at=RELEASE)
    cache.put(1, "1001", facts)
    now = RELEASE + timedelta(hours=1)
    assert cache.get(1, "1001") is facts and facts.usable(7, 41, "lifetime", now)
    assert not facts.usable(7, 42, "lifetime", now), "a new ledger entry"
    assert not facts.usable(8, 41, "lifetime", now), "another customer row"
    assert not facts.usable(7, 41, "calendar_year", now), "another tier period"
    cache.put(1, "1002", kept(computed_at=RELEASE))
    assert cache.get(1, "1001") is None, "bounded: the least recently used goes"
