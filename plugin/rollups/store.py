"""Keeping the analytics rollups (plugin/models/analytics.py) exact, incrementally.

- ``order_changed`` (called by plugin/orders/store.record_order when an order row changes):
  for each customer the order belongs (or belonged) to, the order's own before/after difference
  is applied to the months their locked rollup row holds (no read of their order history: the
  cost per order does not grow with it; a row seen for the first time is filled from all their
  orders), and the change is applied to the month, group and cohort rows; a guest order adds or
  removes its own contribution. ``recompute_customer`` still recomputes one from all orders.
- ``ledger_entry_added`` (called by plugin/loyalty/balances.post_entry for a new entry): adds the
  entry to its month's points row and, the first time, makes the customer a member, moving
  their orders to the members' side of every month.
- the month, cohort and points tables only receive INSERTed signed changes (no hot row shared by
  every order of a month); ``compact_rollups`` (a tick task) folds each shop's rows into one per
  key, atomically on PostgreSQL (DELETE … RETURNING feeding the INSERT), so rows inserted by
  transactions still running are left for the next tick.
- ``rebuild`` recomputes a shop's rollups from the source tables (first view of a shop, repairs
  after data was deleted or written around the services, the bench's bulk fill). It locks the
  shop's rollup state row. An order of a customer who has a row, written while it runs: its
  transaction either holds that row locked until it commits (the rebuild's DELETE waits, its
  later SELECT of the orders sees the order) or locks the rebuilt row after the rebuild
  committed (the rebuild's SELECT did not see the uncommitted order), so it is counted once.
  Not covered: a first-time customer's or a guest's order committed between the rebuild's
  DELETEs and its SELECT of the orders (its signed rows survive the DELETE and the rebuild
  counts it too); the next rebuild repairs it.

Every change of a customer's row happens under that row's lock, so two writers for one
customer apply their differences one after the other.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from plugin.models.analytics import (
    AnalyticsCohort,
    AnalyticsCustomer,
    AnalyticsMemberGroup,
    AnalyticsMonth,
    AnalyticsPointsMonth,
    AnalyticsRollupState,
    AnalyticsTier,
)
from plugin.models.customer import Customer
from plugin.models.ledger import LedgerEntry
from plugin.models.orders import Order

ISSUED_KINDS = ("earn", "action", "referral", "tier_bonus")
Months = dict[str, tuple[int, Decimal]]


def month_key(moment: datetime) -> str:
    """'YYYY-MM' of a timestamp in UTC (naive values are UTC, as stored)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m")


def points_split(kind: str, available: int, pending: int) -> tuple[int, int, int]:
    """(issued, redeemed, expired) one ledger entry contributes (plugin/analytics definitions)."""
    issued = available + pending if kind in ISSUED_KINDS or (kind == "adjust" and available + pending > 0) else 0
    redeemed = -available if kind in ("redeem", "redeem_refund") else 0
    expired = -available if kind == "expire" else 0
    return issued, redeemed, expired


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


_ADDS: dict[tuple, Any] = {}


def _add(session: Session, model, keys: dict[str, Any], deltas: dict[str, Any]) -> None:
    """Record a signed change for ``keys`` (an INSERT: additive tables have no shared row to
    lock; readers sum, the tick compacts). Plain SQL compiled once per shape."""
    cache_key = (model, tuple(keys), tuple(deltas))
    statement = _ADDS.get(cache_key)
    if statement is None:
        columns = [*keys, *deltas]
        statement = _ADDS[cache_key] = text(
            f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        ).bindparams(*(bindparam(c, type_=model.__table__.c[c].type) for c in columns))
    session.execute(statement, {**keys, **deltas})


Change = tuple[Any, dict[str, Any], dict[str, Any]]  # (model, keys, deltas) as for ``_add``
_ADD_ALLS: dict[tuple, Any] = {}


def _add_all(session: Session, changes: list[Change], row: AnalyticsCustomer | None = None,
             values: dict[str, Any] | None = None) -> bool:
    """Several ``_add`` in one round trip on PostgreSQL: one statement whose INSERTs but the
    last are data-modifying CTEs (each runs exactly once, to completion, read or not:
    https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
    With ``row`` and ``values``, the statement's last part is that customer row's UPDATE (the
    caller holds its lock), and True says it was written. SQLite has no such CTEs: one INSERT
    each there, and False (the caller updates the row)."""
    update = row is not None and values is not None
    if len(changes) + update < 2 or session.get_bind().dialect.name != "postgresql":
        for model, keys, deltas in changes:
            _add(session, model, keys, deltas)
        return False
    cache_key = (tuple((model, tuple(keys), tuple(deltas)) for model, keys, deltas in changes),
                 tuple(values) if update and values else ())
    statement = _ADD_ALLS.get(cache_key)
    if statement is None:
        parts, binds = [], []
        for n, (model, keys, deltas) in enumerate(changes):
            columns = [*keys, *deltas]
            parts.append(f"INSERT INTO {model.__tablename__} ({', '.join(columns)}) "
                         f"VALUES ({', '.join(f':c{n}_{c}' for c in columns)})")
            binds += [bindparam(f"c{n}_{c}", type_=model.__table__.c[c].type) for c in columns]
        if update and values:
            table, assignments = AnalyticsCustomer.__table__, ", ".join(f"{c} = :u_{c}" for c in values)
            parts.append(f"UPDATE {AnalyticsCustomer.__tablename__} SET {assignments} WHERE id = :u_id")
            binds += [bindparam(f"u_{c}", type_=table.c[c].type) for c in values]
            binds.append(bindparam("u_id", type_=table.c.id.type))
        ctes = ", ".join(f"a{n} AS ({sql})" for n, sql in enumerate(parts[:-1]))
        statement = _ADD_ALLS[cache_key] = text(f"WITH {ctes} {parts[-1]}").bindparams(*binds)
    params = {f"c{n}_{c}": v for n, (_, keys, deltas) in enumerate(changes) for c, v in {**keys, **deltas}.items()}
    if update and row is not None and values:
        params.update({f"u_{c}": v for c, v in values.items()}, u_id=row.id)
    session.execute(statement, params)
    return update


# ---------------------------------------------------------------- customers and orders

def _membership(session: Session, shop_id: int, key: str) -> tuple[bool, str | None]:
    """(has a ledger entry, current tier) of the shop's customer with Shopify id ``key``."""
    found = session.execute(
        select(Customer.tier_name, select(LedgerEntry.id).where(LedgerEntry.customer_id == Customer.id)
               .limit(1).exists())
        .where(Customer.shop_id == shop_id, Customer.shopify_id == key).limit(1)).first()
    return (bool(found[1]), found[0]) if found else (False, None)


def _count_tier(session: Session, shop_id: int, tier: str | None, change: int) -> None:
    _add(session, AnalyticsTier, {"shop_id": shop_id, "tier": (tier or "")[:60]}, {"members": change})


def _locked_customer(session: Session, shop_id: int, key: str,
                     as_non_member: bool = False) -> tuple[AnalyticsCustomer, bool]:
    """The customer's rollup row, locked, and whether this call created it (a member if they
    have a ledger entry, unless ``as_non_member``: the ledger hook then makes them one). A
    created row holds no orders yet: the caller fills it from the orders table."""
    query = select(AnalyticsCustomer).where(AnalyticsCustomer.shop_id == shop_id,
                                            AnalyticsCustomer.customer_key == key).with_for_update()
    row = session.execute(query).scalar_one_or_none()
    created = None
    if row is None:
        member, tier = (False, None) if as_non_member else _membership(session, shop_id, key)
        created = session.execute(_insert(session)(AnalyticsCustomer).values(
            shop_id=shop_id, customer_key=key, member=member, orders=0, revenue=0, first_month=None, months={})
            .on_conflict_do_nothing().returning(AnalyticsCustomer.id)).scalar_one_or_none()
        if created is not None and member:
            _count_tier(session, shop_id, tier, 1)
        row = session.execute(query).scalar_one()
    _MEMBERS(session)[(shop_id, key)] = row.member
    return row, created is not None


def _MEMBERS(session: Session) -> dict[tuple[int, str], bool]:  # noqa: N802
    """Membership of the customers whose rollup row this transaction has locked (the lock holds
    until commit, so the value cannot change under us); spares the ledger hook its lookup.
    Forgotten at commit and at any rollback (a savepoint's rollback may undo a change)."""
    return session.info.setdefault(_MEMBERS_KEY, {})


_MEMBERS_KEY = "analytics_members"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_members(session: Session, *_: Any) -> None:
    session.info.pop(_MEMBERS_KEY, None)


def _orders_by_month(session: Session, shop_id: int, key: str) -> Months:
    found: Months = {}
    for placed_at, total in session.execute(
            select(Order.placed_at, Order.current_total).where(
                Order.shop_id == shop_id, Order.customer_shopify_id == key, Order.cancelled.is_(False))):
        month = month_key(placed_at)
        count, revenue = found.get(month, (0, Decimal(0)))
        found[month] = (count + 1, revenue + Decimal(total))
    return found


def _stored_months(row: AnalyticsCustomer) -> Months:
    return {m: (int(v[0]), Decimal(str(v[1]))) for m, v in (row.months or {}).items()}


def _apply(session: Session, row: AnalyticsCustomer, new: Months, member: bool) -> None:
    """Move the rollups from what ``row`` says to (``new`` months, ``member``)."""
    old, was_member = _stored_months(row), row.member
    if old == new and was_member == member:
        return
    buckets: dict[tuple[str, bool], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for month, (count, revenue) in old.items():
        buckets[(month, was_member)][0] -= count
        buckets[(month, was_member)][1] -= revenue
    for month, (count, revenue) in new.items():
        buckets[(month, member)][0] += count
        buckets[(month, member)][1] += revenue
    changes: list[Change] = []
    for (month, side), (count, revenue) in sorted(buckets.items()):
        if count or revenue:
            changes.append((AnalyticsMonth, {"shop_id": row.shop_id, "month": month, "member": side},
                            {"orders": count, "revenue": revenue}))
    groups: dict[bool, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for months, side, sign in ((old, was_member, -1), (new, member, 1)):
        count = sum(c for c, _ in months.values())
        if count:
            group = groups[side]
            group[0] += sign
            group[1] += sign if count >= 2 else 0
            group[2] += sign * count
            group[3] += sign * sum((r for _, r in months.values()), Decimal(0))
    for side, (customers, repeaters, count, revenue) in sorted(groups.items()):
        if customers or repeaters or count or revenue:
            changes.append((AnalyticsMemberGroup, {"shop_id": row.shop_id, "member": side},
                            {"customers": customers, "repeaters": repeaters, "orders": count, "revenue": revenue}))
    cohorts: dict[tuple[str, str], int] = defaultdict(int)
    if old:
        for month in old:
            cohorts[(min(old), month)] -= 1
    if new:
        for month in new:
            cohorts[(min(new), month)] += 1
    for (cohort, month), change in sorted(cohorts.items()):
        if change:
            changes.append((AnalyticsCohort, {"shop_id": row.shop_id, "cohort": cohort, "month": month},
                            {"customers": change}))
    values = {"member": member,
              "months": {m: [count, str(revenue)] for m, (count, revenue) in sorted(new.items())},
              "orders": sum(count for count, _ in new.values()),
              "revenue": sum((revenue for _, revenue in new.values()), Decimal(0)),
              "first_month": min(new) if new else None}
    if _add_all(session, changes, row, values):  # the row's UPDATE travelled with the INSERTs
        for name, value in values.items():
            set_committed_value(row, name, value)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()  # the figures read the rollups with plain SQL, which does not autoflush


def recompute_customer(session: Session, shop_id: int, key: str) -> None:
    """Recompute one customer's rollups from all their orders (a repair; ``order_changed``
    applies only an order's own difference)."""
    row, _ = _locked_customer(session, shop_id, key)
    _apply(session, row, _orders_by_month(session, shop_id, key), row.member)


def _shifted(months: Months, state: dict[str, Any] | None, key: str, sign: int) -> None:
    """Add (sign 1) or remove (-1) what order ``state`` contributes to customer ``key``'s months."""
    if state is None or state["customer_shopify_id"] != key or state["cancelled"]:
        return
    month = month_key(state["placed_at"])
    count, revenue = months.get(month, (0, Decimal(0)))
    count, revenue = count + sign, revenue + sign * Decimal(state["current_total"])
    if count:
        months[month] = (count, revenue)
    else:
        months.pop(month, None)


def order_changed(session: Session, shop_id: int, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    """An order row changed from ``before`` (None: new) to ``after`` (customer_shopify_id,
    placed_at, current_total, cancelled)."""
    for state, sign in ((before, -1), (after, 1)):
        if state is not None and state["customer_shopify_id"] is None and not state["cancelled"]:
            _add(session, AnalyticsMonth, {"shop_id": shop_id, "month": month_key(state["placed_at"]), "member": False},
                 {"orders": sign, "revenue": sign * Decimal(state["current_total"])})
    keys = {s["customer_shopify_id"] for s in (before, after) if s is not None and s["customer_shopify_id"]}
    for key in sorted(keys):
        row, created = _locked_customer(session, shop_id, key)
        if created:  # first sight of this customer: their rollups come from all their orders
            months = _orders_by_month(session, shop_id, key)
        else:  # the row holds every other order (kept exact under its lock): move this one only
            months = _stored_months(row)
            _shifted(months, before, key, -1)
            _shifted(months, after, key, 1)
        _apply(session, row, months, row.member)


# ---------------------------------------------------------------- ledger

def ledger_entry_added(session: Session, shop_id: int, customer_key: str | None, kind: str, available: int,
                       pending: int, occurred_at: datetime, tier: str | None = None) -> None:
    """A new ledger entry (caller holds the customer's row lock); ``tier`` is the customer's now."""
    issued, redeemed, expired = points_split(kind, available, pending)
    _add(session, AnalyticsPointsMonth, {"shop_id": shop_id, "month": month_key(occurred_at)},
         {"issued": issued, "redeemed": redeemed, "expired": expired})
    if not customer_key:
        return
    member = _MEMBERS(session).get((shop_id, customer_key))
    if member is None:
        member = session.execute(select(AnalyticsCustomer.member).where(
            AnalyticsCustomer.shop_id == shop_id, AnalyticsCustomer.customer_key == customer_key)).scalar_one_or_none()
    if member:
        return
    row, created = _locked_customer(session, shop_id, customer_key, as_non_member=True)
    if not row.member:  # a row created here is filled from the customer's orders (orders only add differences)
        _apply(session, row, _orders_by_month(session, shop_id, customer_key) if created else _stored_months(row), True)
        _count_tier(session, shop_id, tier, 1)
        _MEMBERS(session)[(shop_id, customer_key)] = True


def tier_changed(session: Session, shop_id: int, customer_key: str | None, previous: str | None,
                 new: str | None) -> None:
    """A customer's tier changed (caller holds their row lock): move them if they are a member."""
    if not customer_key or (previous or "") == (new or ""):
        return
    member = _MEMBERS(session).get((shop_id, customer_key))
    if member is None:
        member = session.execute(select(AnalyticsCustomer.member).where(
            AnalyticsCustomer.shop_id == shop_id, AnalyticsCustomer.customer_key == customer_key)).scalar_one_or_none()
    else:
        session.flush()  # the new tier_name, as the lookup's autoflush did: plain-SQL figures read it
    if member:
        _add_all(session, [(AnalyticsTier, {"shop_id": shop_id, "tier": (tier or "")[:60]}, {"members": change})
                           for tier, change in ((previous, -1), (new, 1))])


# ---------------------------------------------------------------- rebuild

def _month_sql(session: Session, column: str) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
    return f"strftime('%Y-%m', {column})"


def rebuild(session: Session, shop_id: int, now: datetime) -> None:
    """Recompute every rollup of one shop from orders, customers and the ledger."""
    state = _insert(session)(AnalyticsRollupState).values(shop_id=shop_id, built_at=now)
    session.execute(state.on_conflict_do_update(index_elements=["shop_id"], set_={"built_at": now}))
    session.execute(select(AnalyticsRollupState.id).where(AnalyticsRollupState.shop_id == shop_id).with_for_update())
    for model in (AnalyticsCustomer, AnalyticsMemberGroup, AnalyticsTier, AnalyticsMonth, AnalyticsCohort,
                  AnalyticsPointsMonth):
        session.execute(delete(model).where(model.shop_id == shop_id))
    members = set(session.execute(text(
        "SELECT DISTINCT c.shopify_id FROM customers c JOIN ledger_entries l ON l.customer_id = c.id "
        "WHERE c.shop_id = :shop AND l.shop_id = :shop AND c.shopify_id IS NOT NULL"), {"shop": shop_id}).scalars())
    month = _month_sql(session, "placed_at")
    per_customer: dict[str, Months] = defaultdict(dict)
    guests: Months = {}
    for key, month_value, count, revenue in session.execute(text(
            f"SELECT customer_shopify_id, {month}, COUNT(*), SUM(current_total) FROM orders "
            f"WHERE shop_id = :shop AND cancelled = :no GROUP BY customer_shopify_id, {month}"),
            {"shop": shop_id, "no": False}):
        if key is None:
            guests[month_value] = (int(count), Decimal(revenue))
        else:
            per_customer[key][month_value] = (int(count), Decimal(revenue))
    buckets: dict[tuple[str, bool], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    cohorts: dict[tuple[str, str], int] = defaultdict(int)
    rows: list[dict[str, Any]] = []
    for key in sorted(set(per_customer) | members):
        months, member = per_customer.get(key, {}), key in members
        for month_value, (count, revenue) in months.items():
            buckets[(month_value, member)][0] += count
            buckets[(month_value, member)][1] += revenue
            cohorts[(min(months), month_value)] += 1
        rows.append({"shop_id": shop_id, "customer_key": key, "member": member,
                     "orders": sum(c for c, _ in months.values()),
                     "revenue": sum((r for _, r in months.values()), Decimal(0)),
                     "first_month": min(months) if months else None,
                     "months": {m: [c, str(r)] for m, (c, r) in sorted(months.items())}})
    for month_value, (count, revenue) in guests.items():
        buckets[(month_value, False)][0] += count
        buckets[(month_value, False)][1] += revenue
    groups: dict[bool, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for row in rows:
        if row["orders"]:
            group = groups[row["member"]]
            group[0] += 1
            group[1] += 1 if row["orders"] >= 2 else 0
            group[2] += row["orders"]
            group[3] += row["revenue"]
    if groups:
        session.execute(insert(AnalyticsMemberGroup), [
            {"shop_id": shop_id, "member": side, "customers": c, "repeaters": r, "orders": o, "revenue": v}
            for side, (c, r, o, v) in sorted(groups.items())])
    tiers: dict[str, int] = defaultdict(int)
    for key, tier in session.execute(select(Customer.shopify_id, Customer.tier_name).where(
            Customer.shop_id == shop_id, Customer.shopify_id.is_not(None))):
        if key in members:
            tiers[(tier or "")[:60]] += 1
    if tiers:
        session.execute(insert(AnalyticsTier), [{"shop_id": shop_id, "tier": t, "members": n}
                                                for t, n in sorted(tiers.items())])
    for start in range(0, len(rows), 5000):
        session.execute(insert(AnalyticsCustomer), rows[start:start + 5000])
    if buckets:
        session.execute(insert(AnalyticsMonth), [
            {"shop_id": shop_id, "month": m, "member": side, "orders": c, "revenue": r}
            for (m, side), (c, r) in sorted(buckets.items())])
    if cohorts:
        session.execute(insert(AnalyticsCohort), [
            {"shop_id": shop_id, "cohort": cohort, "month": m, "customers": n} for (cohort, m), n in sorted(cohorts.items())])
    ledger_month = _month_sql(session, "occurred_at")
    kinds = ", ".join(f"'{k}'" for k in ISSUED_KINDS)
    points = session.execute(text(f"""
        SELECT {ledger_month},
          SUM(CASE WHEN kind IN ({kinds}) THEN available + pending
                   WHEN kind = 'adjust' AND available + pending > 0 THEN available + pending ELSE 0 END),
          SUM(CASE WHEN kind IN ('redeem', 'redeem_refund') THEN -available ELSE 0 END),
          SUM(CASE WHEN kind = 'expire' THEN -available ELSE 0 END)
        FROM ledger_entries WHERE shop_id = :shop GROUP BY {ledger_month}"""), {"shop": shop_id}).all()
    if points:
        session.execute(insert(AnalyticsPointsMonth), [
            {"shop_id": shop_id, "month": m, "issued": int(i or 0), "redeemed": int(r or 0), "expired": int(e or 0)}
            for m, i, r, e in points])


def built_at(session: Session, shop_id: int) -> datetime | None:
    return session.execute(select(AnalyticsRollupState.built_at).where(
        AnalyticsRollupState.shop_id == shop_id)).scalar_one_or_none()


# ---------------------------------------------------------------- compaction

# table: (key columns, summed columns, HAVING that drops groups summing to nothing or None)
_ADDITIVE = {
    "analytics_tiers": (("tier",), ("members",), "SUM(members) <> 0"),
    "analytics_member_groups": (("member",), ("customers", "repeaters", "orders", "revenue"), None),
    "analytics_months": (("month", "member"), ("orders", "revenue"), "SUM(orders) <> 0 OR SUM(revenue) <> 0"),
    "analytics_cohorts": (("cohort", "month"), ("customers",), "SUM(customers) <> 0"),
    "analytics_points_months": (("month",), ("issued", "redeemed", "expired"), None),
}
COMPACT_ABOVE = 200  # rows of one shop in one table


def compact(session: Session, shop_id: int) -> None:
    """Fold one shop's additive rows into one row per key."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for table, (keys, sums, having) in _ADDITIVE.items():
        key_list, sum_list = ", ".join(keys), ", ".join(f"SUM({c})" for c in sums)
        columns = ", ".join((*keys, *sums))
        keep = f" HAVING {having}" if having else ""
        if postgres:
            session.execute(text(
                f"WITH gone AS (DELETE FROM {table} WHERE shop_id = :shop RETURNING {columns}) "
                f"INSERT INTO {table} (shop_id, {columns}) SELECT :shop, {key_list}, {sum_list} FROM gone "
                f"GROUP BY {key_list}{keep}"), {"shop": shop_id})
            continue
        last = session.execute(text(f"SELECT MAX(id) FROM {table} WHERE shop_id = :shop"), {"shop": shop_id}).scalar()
        if last is None:
            continue
        session.execute(text(
            f"INSERT INTO {table} (shop_id, {columns}) SELECT :shop, {key_list}, {sum_list} FROM {table} "
            f"WHERE shop_id = :shop AND id <= :last GROUP BY {key_list}{keep}"), {"shop": shop_id, "last": last})
        session.execute(text(f"DELETE FROM {table} WHERE shop_id = :shop AND id <= :last"),
                        {"shop": shop_id, "last": last})


def compact_rollups(app_state, now: datetime) -> dict:
    """Tick task: compact the shops whose additive rollup tables grew past COMPACT_ABOVE rows."""
    with app_state.db.transaction() as session:
        shops: set[int] = set()
        for table in _ADDITIVE:
            shops.update(session.execute(text(
                f"SELECT shop_id FROM {table} GROUP BY shop_id HAVING COUNT(*) > :above"),
                {"above": COMPACT_ABOVE}).scalars())
    for shop_id in sorted(shops):
        with app_state.db.transaction() as session:
            compact(session, shop_id)
    return {"compacted": len(shops)}
