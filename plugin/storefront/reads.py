"""A known shopper's facts for GET /proxy/customer in one statement.

The widget asks on every storefront page view. The customer row, the tier metrics aggregate
(``plugin.loyalty.status.metrics_query``, the statement ``customer_metrics`` runs), the next
release of pending points and the referral counts used to be four statements, each costing
about as much ORM CPU as Postgres time; here they are one (bench/RESULTS.md, App Proxy read).
What comes from the ledger is kept per process while it provably holds (``facts_cache``): a
repeat visit then reads only the customer row, the ledger's version, the referral counts and
whether a code is usable — one small statement.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import bindparam, exists, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from plugin.loyalty.rules.tiers import Window, period_window
from plugin.loyalty.status import metrics_query, metrics_totals
from plugin.models import Customer, LedgerEntry, Redemption, Referral
from plugin.models.rewards import ISSUED
from plugin.storefront.activity import recent_activity
from plugin.storefront.facts_cache import FactsCache, LedgerFacts, stable_until


@dataclass(frozen=True)
class ShopperFacts:
    customer: Customer
    metrics: dict[str, Decimal]              # for the window asked, as customer_metrics returns them
    next_release_at: datetime | None         # as activity.next_release_at returns it
    referral_counts: dict[str, int]          # as referrals.links.referral_counts returns them
    has_usable_codes: bool                   # most shoppers have none: no statement to list them
    activity: tuple[dict, ...] | None = None  # recent_activity's, when read with the facts


def shopper_facts(session: Session, shop_id: int, shopify_id: str, window: Window,
                  now: datetime) -> ShopperFacts | None:
    """The shopper's row and facts, or None when the shop has no such customer yet."""
    row = _facts_row(session, shop_id, shopify_id, window, now)
    return _facts(row) if row is not None else None


def _facts_row(session: Session, shop_id: int, shopify_id: str, window: Window, now: datetime):
    start, end = window
    params = {"shop_id": shop_id, "shopify_id": shopify_id, "start": start, "end": end, "now": now}
    return session.execute(_facts_query(start is not None, end is not None), params).one_or_none()


def _facts(row) -> ShopperFacts:
    customer = row[0]
    return ShopperFacts(
        customer=customer,
        metrics=metrics_totals(row.spend, row.points, row.orders, row.referrals),
        # Only pending points have a release date (next_release_at asks only then, too).
        next_release_at=row.next_release_at if customer.points_pending > 0 else None,
        referral_counts={"successful": row.successful_referrals, "pending": row.pending_referrals},
        has_usable_codes=bool(row.has_usable_codes))


def known_shopper_facts(session: Session, cache: FactsCache, shop_id: int, shopify_id: str, tier_period: str,
                        now: datetime) -> ShopperFacts | None:
    """``shopper_facts`` with the latest activity, the ledger part from ``cache`` while it holds."""
    kept = cache.get(shop_id, shopify_id) if cache.size > 0 else None
    if kept is not None:
        params = {"shop_id": shop_id, "shopify_id": shopify_id, "now": now}
        row = session.execute(_version_query(), params).one_or_none()
        if row is None:
            return None
        customer = row[0]
        if kept.usable(customer.id, row.ledger_version, tier_period, now):
            return ShopperFacts(
                customer=customer, metrics=kept.metrics,
                next_release_at=kept.next_release_at if customer.points_pending > 0 else None,
                referral_counts={"successful": row.successful_referrals, "pending": row.pending_referrals},
                has_usable_codes=bool(row.has_usable_codes), activity=kept.activity)
    window = period_window(tier_period, now)
    row = _facts_row(session, shop_id, shopify_id, window, now)
    if row is None:
        return None
    facts = _facts(row)
    # Read after the facts: never older than the version it is kept under (a newer entry only
    # makes the next visit miss).
    activity = tuple(recent_activity(session, facts.customer, now))
    cache.put(shop_id, shopify_id, LedgerFacts(
        customer_id=facts.customer.id, ledger_version=row.ledger_version, tier_period=tier_period, computed_at=now,
        stable_until=stable_until(tier_period, window[1], row.oldest, row.next_release_at),
        metrics=facts.metrics, next_release_at=row.next_release_at, activity=activity))
    return ShopperFacts(facts.customer, facts.metrics, facts.next_release_at, facts.referral_counts,
                        facts.has_usable_codes, activity)


def usable_code_conditions(customer_id) -> tuple:
    """Reward codes the shopper has and can still use (payload._USABLE_CODES lists them)."""
    return (Redemption.shop_id == bindparam("shop_id"), Redemption.customer_id == customer_id,
            Redemption.status == ISSUED, Redemption.used_at.is_(None),
            or_(Redemption.expires_at.is_(None),
                Redemption.expires_at > bindparam("now", type_=Redemption.expires_at.type)))


@lru_cache(maxsize=4)
def _facts_query(bounded_below: bool, bounded_above: bool):
    """Built once per window shape: building a select() per call costs as much as running it."""
    # The oldest entry the window counts: when it leaves a rolling window the metrics change.
    totals = (metrics_query(bounded_below, bounded_above, by_shopify_id=True)
              .add_columns(func.min(LedgerEntry.occurred_at).label("oldest")).subquery("totals"))
    next_release = (
        select(func.min(LedgerEntry.available_at))
        .where(LedgerEntry.shop_id == bindparam("shop_id"), LedgerEntry.customer_id == Customer.id,
               # A literal 0 so the partial index ix_ledger_entries_customer_pending (WHERE pending > 0)
               # matches the generic plan psycopg prepares (see activity._NEXT_RELEASE).
               LedgerEntry.pending > literal_column("0"),
               LedgerEntry.available_at > bindparam("now", type_=LedgerEntry.available_at.type))
        .scalar_subquery())

    # The aggregate has no GROUP BY: always exactly one row, joined ON TRUE to the customer's.
    return (select(Customer, totals.c.spend, totals.c.points, totals.c.orders, totals.c.referrals,
                   totals.c.oldest, next_release.label("next_release_at"), *_fresh_columns())
            .join_from(Customer, totals, true())
            .where(Customer.shop_id == bindparam("shop_id"), Customer.shopify_id == bindparam("shopify_id")))


@lru_cache(maxsize=1)
def _version_query():
    """A repeat visit: the customer row and what is read afresh every time, nothing summed."""
    return (select(Customer, *_fresh_columns())
            .where(Customer.shop_id == bindparam("shop_id"), Customer.shopify_id == bindparam("shopify_id")))


def _fresh_columns() -> tuple:
    def referrals(*statuses: str):
        return (select(func.count()).select_from(Referral)
                .where(Referral.shop_id == bindparam("shop_id"), Referral.advocate_id == Customer.id,
                       Referral.status.in_(statuses))
                .scalar_subquery())

    # The largest id: a backward scan of ix_ledger_entries_customer (customer_id, id), one row.
    ledger_version = (select(func.coalesce(func.max(LedgerEntry.id), 0))
                      .where(LedgerEntry.shop_id == bindparam("shop_id"), LedgerEntry.customer_id == Customer.id)
                      .scalar_subquery())
    return (ledger_version.label("ledger_version"),
            referrals("successful").label("successful_referrals"),
            # referral_counts: "held" (under the merchant's review) shows as pending.
            referrals("pending", "held").label("pending_referrals"),
            exists().where(*usable_code_conditions(Customer.id)).label("has_usable_codes"))
