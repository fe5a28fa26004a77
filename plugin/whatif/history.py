"""Reading a shop's history for the what-if and running both programs over it.

Orders come from the ``orders`` table (plugin/orders/, fed by the order webhooks and the
import), one customer at a time in (customer, placed_at) order — the table's own index — so a
million orders stream through without being held in memory. The earn base is the one the live
engine stored on the order's ``earn`` entry when there is one; actions and referrals come from
the ledger. Every query is scoped by shop.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session, aliased

from plugin.analytics.queries import ISSUED_KINDS
from plugin.loyalty.rules.program import Program
from plugin.loyalty.status import shop_program
from plugin.models import Customer, LedgerEntry, Shop
from plugin.models.orders import Order
from plugin.whatif.rules.comparison import Comparison, redemption_rate
from plugin.whatif.rules.simulation import (
    OTHER,
    PAID_STATUSES,
    EventRecord,
    OrderRecord,
    Pricer,
    Record,
    simulate_customer,
)

PROGRESS_EVERY = 20_000
STREAM_ROWS = 20_000



def _orders_query(shop_id: int):
    earn = aliased(LedgerEntry)
    return (select(Order.customer_shopify_id, Order.placed_at, Order.total, Order.current_total,
                   Order.financial_status, earn.base_amount)
            .outerjoin(earn, and_(earn.shop_id == Order.shop_id, earn.order_id == Order.order_id, earn.kind == "earn"))
            .where(Order.shop_id == shop_id, Order.cancelled.is_(False), Order.customer_shopify_id.is_not(None))
            .order_by(Order.customer_shopify_id, Order.placed_at, Order.order_id))


def _events_query(shop_id: int):
    return (select(Customer.shopify_id, LedgerEntry.kind, LedgerEntry.key,
                   LedgerEntry.available + LedgerEntry.pending, LedgerEntry.occurred_at)
            .join(Customer, and_(Customer.id == LedgerEntry.customer_id, Customer.shop_id == LedgerEntry.shop_id))
            .where(LedgerEntry.shop_id == shop_id, LedgerEntry.kind.in_(("action", "referral")),
                   Customer.shopify_id.is_not(None))
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id))


class WhatifError(ValueError):
    """A draft that cannot be compared with the shop's program (wrong currency)."""


def shop_zone(shop: Shop) -> tzinfo:
    try:
        return ZoneInfo(shop.iana_timezone) if shop.iana_timezone else UTC
    except (KeyError, ValueError):
        return UTC


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def order_record(placed_at: datetime, total, current_total, status: str | None, earn_base) -> OrderRecord:
    """One orders-table row as the simulation's record (see simulation.py for what is assumed)."""
    total, current = Decimal(total), Decimal(current_total)
    kept = max(current, Decimal(0))
    if earn_base is not None:
        base = Decimal(earn_base)
        refunded = base * (total - kept) / total if total > 0 and kept < total else Decimal(0)
    else:
        base, refunded = max(total, Decimal(0)), max(total - kept, Decimal(0))
    return OrderRecord(at=_aware(placed_at), base=base, refunded=refunded,
                       paid=status is None or status in PAID_STATUSES)


def _action_kind(kind: str, key: str) -> str:
    if kind == "referral":
        return "referral"
    parts = key.split(":")  # customer:<id>:action:<kind>:<period> (ledger.action_key)
    return parts[3] if len(parts) >= 5 and parts[2] == "action" else OTHER


def ledger_events(session: Session, shop_id: int) -> dict[str, list[EventRecord]]:
    events: dict[str, list[EventRecord]] = {}
    for sid, kind, key, points, at in session.execute(_events_query(shop_id)):
        events.setdefault(sid, []).append(EventRecord(at=_aware(at), kind=_action_kind(kind, key), points=int(points)))
    return events


def ledger_redemption_rate(session: Session, shop_id: int):
    """Points redeemed / points issued in the ledger (the definitions of analytics' points flow)."""
    kinds = ", ".join(f"'{k}'" for k in ISSUED_KINDS)
    issued, redeemed = session.execute(text(f"""
        SELECT COALESCE(SUM(CASE WHEN kind IN ({kinds}) THEN available + pending
                                 WHEN kind = 'adjust' AND available + pending > 0 THEN available + pending
                                 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN kind IN ('redeem', 'redeem_refund') THEN -available ELSE 0 END), 0)
        FROM ledger_entries WHERE shop_id = :shop"""), {"shop": shop_id}).one()
    return redemption_rate(int(issued), int(redeemed))


def customer_histories(session: Session, shop_id: int, events: dict[str, list[EventRecord]],
                       counted: Callable[[int], None]) -> Iterator[tuple[str, list[Record]]]:
    """(customer id, records oldest first) for every customer with orders or ledger events."""
    connection = session.connection().execution_options(yield_per=STREAM_ROWS)
    rows = connection.execute(_orders_query(shop_id))
    current: str | None = None
    orders: list[Record] = []
    for sid, placed_at, total, current_total, status, earn_base in rows:
        if sid != current:
            if current is not None:
                yield current, _merged(orders, events.pop(current, ()))
            current, orders = sid, []
        orders.append(order_record(placed_at, total, current_total, status, earn_base))
        counted(1)
    if current is not None:
        yield current, _merged(orders, events.pop(current, ()))
    for sid in sorted(events):
        yield sid, list(events[sid])


def _merged(orders: list[Record], events) -> list[Record]:
    if not events:
        return orders
    return sorted([*orders, *events], key=lambda r: r.at)


def count_orders(session: Session, shop_id: int) -> int:
    return int(session.execute(text(
        "SELECT COUNT(*) FROM orders WHERE shop_id = :shop AND cancelled = :no AND customer_shopify_id IS NOT NULL"),
        {"shop": shop_id, "no": False}).scalar_one())


def compare_programs(session: Session, shop: Shop, draft: Program, now: datetime,
                     on_progress: Callable[[int, int], None] = lambda done, total: None) -> dict:
    """Simulate the live program and ``draft`` over the shop's history; the JSON-ready report."""
    live = shop_program(shop)
    if draft.currency != shop.currency:
        raise WhatifError(f"currency: the draft is in {draft.currency}, the shop sells in {shop.currency}")
    total = count_orders(session, shop.id)
    comparison = Comparison(live, draft, ledger_redemption_rate(session, shop.id), now)
    zone = shop_zone(shop)
    done = 0
    on_progress(0, total)

    def counted(n: int) -> None:
        nonlocal done
        done += n
        if done % PROGRESS_EVERY == 0:
            on_progress(done, total)

    live_prices, draft_prices = Pricer(live), Pricer(draft)
    for sid, records in customer_histories(session, shop.id, ledger_events(session, shop.id), counted):
        comparison.add(sid, simulate_customer(live, records, now, zone, live_prices),
                       simulate_customer(draft, records, now, zone, draft_prices))
    on_progress(done, total)
    report = comparison.result()
    report["orders"] = done
    return report
