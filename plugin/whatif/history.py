"""Reading a shop's history for the what-if and running both programs over it.

Orders come from the ``orders`` table (plugin/orders/, fed by the order webhooks and the
import), one customer at a time in (customer, placed_at) order — the table's own index — so a
million orders stream through without being held in memory. The earn base is the one the live
engine stored on the order's ``earn`` entry when there is one; actions and referrals come from
the ledger. Every query is scoped by shop.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session, aliased

from plugin.analytics.queries import ISSUED_KINDS
from plugin.loyalty.rules.program import Program
from plugin.loyalty.status import shop_program
from plugin.models import Customer, LedgerEntry, Shop
from plugin.models.orders import Order
from plugin.whatif.parallel import replay_in_processes
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



Range = tuple[str | None, str | None]  # customer ids [low, high) in the database's order; None: open
EVERYONE: Range = (None, None)


def _in_range(column, customers: Range) -> list:
    low, high = customers
    return ([column >= low] if low is not None else []) + ([column < high] if high is not None else [])


def _orders_query(shop_id: int, customers: Range = EVERYONE):
    earn = aliased(LedgerEntry)
    return (select(Order.customer_shopify_id, Order.placed_at, Order.total, Order.current_total,
                   Order.financial_status, earn.base_amount)
            .outerjoin(earn, and_(earn.shop_id == Order.shop_id, earn.order_id == Order.order_id, earn.kind == "earn"))
            .where(Order.shop_id == shop_id, Order.cancelled.is_(False), Order.customer_shopify_id.is_not(None),
                   *_in_range(Order.customer_shopify_id, customers))
            .order_by(Order.customer_shopify_id, Order.placed_at, Order.order_id))


def _events_query(shop_id: int, customers: Range = EVERYONE):
    return (select(Customer.shopify_id, LedgerEntry.kind, LedgerEntry.key,
                   LedgerEntry.available + LedgerEntry.pending, LedgerEntry.occurred_at)
            .join(Customer, and_(Customer.id == LedgerEntry.customer_id, Customer.shop_id == LedgerEntry.shop_id))
            .where(LedgerEntry.shop_id == shop_id, LedgerEntry.kind.in_(("action", "referral")),
                   Customer.shopify_id.is_not(None), *_in_range(Customer.shopify_id, customers))
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id))


class WhatifError(ValueError):
    """A draft that cannot be compared with the shop's program (wrong currency)."""


def shop_zone(shop: Shop) -> tzinfo:
    try:
        return ZoneInfo(shop.iana_timezone) if shop.iana_timezone else UTC
    except (KeyError, ValueError):
        return UTC


_UTC_KEYS = frozenset({"UTC", "Etc/UTC"})


def _aware(value: datetime) -> datetime:
    """The instant with ``datetime.UTC`` when it is in UTC: psycopg hands timestamptz values in
    the session's zone, ``ZoneInfo("UTC")`` on a UTC server (psycopg/_tz.py ``get_tzinfo``) — the
    same offsets, but the replay skips its per-record conversion only for ``UTC`` itself."""
    zone = value.tzinfo
    if zone is None or (zone is not UTC and getattr(zone, "key", None) in _UTC_KEYS):
        return value.replace(tzinfo=UTC)
    return value


_ZERO = Decimal(0)


def _decimal(value) -> Decimal:
    return value if type(value) is Decimal else Decimal(value)


def order_record(placed_at: datetime, total, current_total, status: str | None, earn_base) -> OrderRecord:
    """One orders-table row as the simulation's record (see simulation.py for what is assumed).
    Run once per order of the history: numbers the driver already made Decimals are kept."""
    total, current = _decimal(total), _decimal(current_total)
    kept = current if current > _ZERO else _ZERO
    if earn_base is not None:
        base = _decimal(earn_base)
        refunded = base * (total - kept) / total if total > 0 and kept < total else _ZERO
    else:
        base = total if total > _ZERO else _ZERO
        refunded = total - kept if total > kept else _ZERO
    return OrderRecord(_aware(placed_at), base, refunded, status is None or status in PAID_STATUSES)


def _action_kind(kind: str, key: str) -> str:
    if kind == "referral":
        return "referral"
    parts = key.split(":")  # customer:<id>:action:<kind>:<period> (ledger.action_key)
    return parts[3] if len(parts) >= 5 and parts[2] == "action" else OTHER


def ledger_events(session: Session, shop_id: int, customers: Range = EVERYONE) -> dict[str, list[EventRecord]]:
    events: dict[str, list[EventRecord]] = {}
    for sid, kind, key, points, at in session.execute(_events_query(shop_id, customers)):
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
    for sid, records, _ in _histories(session, shop_id, events, counted):
        yield sid, records


def _histories(session: Session, shop_id: int, events: dict[str, list[EventRecord]],
               counted: Callable[[int], None], customers: Range = EVERYONE) -> Iterator[tuple[str, list[Record], bool]]:
    """``customer_histories`` of the customers in range, each flagged with whether it has orders:
    those first, in the database's order of ids, then the others sorted by id. ``counted`` is
    called with the number of orders read, every ``PROGRESS_EVERY`` and at the end."""
    connection = session.connection().execution_options(yield_per=STREAM_ROWS)
    rows = connection.execute(_orders_query(shop_id, customers))
    current: str | None = None
    orders: list[Record] = []
    read = 0
    for sid, placed_at, total, current_total, status, earn_base in rows:
        if sid != current:
            if current is not None:
                yield current, _merged(orders, events.pop(current, ())), True
            current, orders = sid, []
        orders.append(order_record(placed_at, total, current_total, status, earn_base))
        read += 1
        if read == PROGRESS_EVERY:
            counted(read)
            read = 0
    if current is not None:
        yield current, _merged(orders, events.pop(current, ())), True
    counted(read)
    for sid in sorted(events):
        yield sid, list(events[sid]), False


def _merged(orders: list[Record], events) -> list[Record]:
    if not events:
        return orders
    return sorted([*orders, *events], key=lambda r: r.at)


def count_orders(session: Session, shop_id: int) -> int:
    return int(session.execute(text(
        "SELECT COUNT(*) FROM orders WHERE shop_id = :shop AND cancelled = :no AND customer_shopify_id IS NOT NULL"),
        {"shop": shop_id, "no": False}).scalar_one())


def _replay(session: Session, shop_id: int, live: Program, draft: Program, rate: Fraction, now: datetime,
            zone: tzinfo, customers: Range, counted: Callable[[int], None]) -> Comparison:
    """Both programs over the customers in range: a comparison of them alone."""
    comparison = Comparison(live, draft, rate, now)
    live_prices, draft_prices = Pricer(live), Pricer(draft)
    with_orders = True
    for sid, records, has_orders in _histories(session, shop_id, ledger_events(session, shop_id, customers),
                                               counted, customers):
        if with_orders and not has_orders:
            with_orders = False
            comparison.customers_without_orders_begin()
        comparison.add(sid, simulate_customer(live, records, now, zone, live_prices),
                       simulate_customer(draft, records, now, zone, draft_prices))
    return comparison


def compare_programs(session: Session, shop: Shop, draft: Program, now: datetime,
                     on_progress: Callable[[int, int], None] = lambda done, total: None,
                     processes: int = 1) -> dict:
    """Simulate the live program and ``draft`` over the shop's history; the JSON-ready report.

    ``processes`` (WHATIF_PROCESSES; 0: one per CPU, see ``process_count``) > 1 splits the
    customers into that many ranges replayed by forked processes (``parallel.py``), merged
    exactly: the same report as one process."""
    live = shop_program(shop)
    if draft.currency != shop.currency:
        raise WhatifError(f"currency: the draft is in {draft.currency}, the shop sells in {shop.currency}")
    total = count_orders(session, shop.id)
    rate = ledger_redemption_rate(session, shop.id)
    zone = shop_zone(shop)
    on_progress(0, total)
    processes = process_count(session, processes, total)
    ranges = customer_ranges(session, shop.id, total, processes) if processes > 1 else [EVERYONE]
    if len(ranges) > 1:
        comparison, done = replay_in_processes(
            session, ranges, lambda part, customers, counted: _replay(
                part, shop.id, live, draft, rate, now, zone, customers, counted),
            lambda done: on_progress(done, total))
    else:
        done = 0

        def counted(n: int) -> None:
            nonlocal done
            done += n
            on_progress(done, total)

        comparison = _replay(session, shop.id, live, draft, rate, now, zone, EVERYONE, counted)
    report = comparison.result()
    report["orders"] = done
    return report


AUTO_MAX_PROCESSES = 4
AUTO_MIN_ORDERS = 20_000  # below this a run takes about a second: not worth a fork


def process_count(session: Session, configured: int, total: int) -> int:
    """How many processes a run of ``total`` orders uses: ``configured`` (WHATIF_PROCESSES) or,
    when 0, one per CPU up to ``AUTO_MAX_PROCESSES`` for a history worth it; always 1 outside
    PostgreSQL (SQLite, the demo)."""
    if session.get_bind().dialect.name != "postgresql":
        return 1
    if configured > 0:
        return min(configured, max(total, 1))
    return 1 if total < AUTO_MIN_ORDERS else max(1, min(os.cpu_count() or 1, AUTO_MAX_PROCESSES))


def customer_ranges(session: Session, shop_id: int, total: int, parts: int) -> list[Range]:
    """Up to ``parts`` ranges of customer ids with about as many orders each, in the order the
    orders query reads them (the index on (shop, customer, placed_at)); a customer's orders all
    fall in one range, because a range is a set of ids."""
    bounds: list[str] = []
    for i in range(1, parts):
        sid = session.execute(text(
            "SELECT customer_shopify_id FROM orders WHERE shop_id = :shop AND cancelled = :no "
            "AND customer_shopify_id IS NOT NULL ORDER BY customer_shopify_id OFFSET :skip LIMIT 1"),
            {"shop": shop_id, "no": False, "skip": total * i // parts}).scalar_one_or_none()
        if sid is not None and sid not in bounds:
            bounds.append(sid)
    edges: list[str | None] = [None, *bounds, None]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
