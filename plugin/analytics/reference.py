"""The analytics figures computed straight from the source tables (orders, ledger, email
events), as they were before the rollups. Not used by the dashboard: the tests and
bench/analytics.py check that the rollup-backed figures in queries.py equal these."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from plugin.analytics.queries import (
    COHORT_MONTHS,
    ISSUED_KINDS,
    RETENTION_OFFSETS,
    Table,
    _months_between,
    _pct,
    _rows,
)
from plugin.analytics.sql import month_of
from plugin.loyalty.rules.money import quantize
from plugin.loyalty.rules.program import Program
from plugin.models import Shop

_MEMBERS = """SELECT DISTINCT c.shopify_id AS sid FROM customers c
              JOIN ledger_entries l ON l.customer_id = c.id
              WHERE c.shop_id = :shop AND l.shop_id = :shop AND c.shopify_id IS NOT NULL"""


def members_vs_non_members(session: Session, shop: Shop) -> Table:
    """Repeat-purchase rate and average order value, members vs non-members."""
    found = _rows(session, f"""
        WITH per_customer AS (
            SELECT o.customer_shopify_id AS sid, COUNT(*) AS n, SUM(o.current_total) AS revenue
            FROM orders o WHERE o.shop_id = :shop AND o.cancelled = :no AND o.customer_shopify_id IS NOT NULL
            GROUP BY o.customer_shopify_id),
        members AS ({_MEMBERS})
        SELECT CASE WHEN m.sid IS NULL THEN 0 ELSE 1 END AS member, COUNT(*) AS customers,
               SUM(CASE WHEN p.n >= 2 THEN 1 ELSE 0 END) AS repeaters, SUM(p.n) AS orders, SUM(p.revenue) AS revenue
        FROM per_customer p LEFT JOIN members m ON m.sid = p.sid
        GROUP BY CASE WHEN m.sid IS NULL THEN 0 ELSE 1 END""", shop=shop.id, no=False)
    by_group = {int(r[0]): r for r in found}
    rows = []
    for member, label in ((1, "members"), (0, "non_members")):
        _, customers, repeaters, orders, revenue = by_group.get(member, (member, 0, 0, 0, 0))
        aov = quantize(Decimal(revenue or 0) / orders, shop.currency) if orders else Decimal(0)
        rows.append((label, int(customers or 0), int(repeaters or 0), _pct(repeaters, customers), int(orders or 0),
                     quantize(Decimal(revenue or 0), shop.currency), aov))
    return Table(("group", "customers", "repeat_customers", "repeat_rate_pct", "orders", "revenue", "aov"), rows)


def monthly_revenue(session: Session, shop: Shop) -> Table:
    """Orders and revenue per month, members vs non-members (time series)."""
    month = month_of(session, "o.placed_at")
    found = _rows(session, f"""
        WITH members AS ({_MEMBERS})
        SELECT {month} AS month, CASE WHEN m.sid IS NULL THEN 0 ELSE 1 END AS member,
               COUNT(*) AS orders, SUM(o.current_total) AS revenue
        FROM orders o LEFT JOIN members m ON m.sid = o.customer_shopify_id
        WHERE o.shop_id = :shop AND o.cancelled = :no
        GROUP BY {month}, CASE WHEN m.sid IS NULL THEN 0 ELSE 1 END ORDER BY 1""", shop=shop.id, no=False)
    months: dict[str, list[Any]] = {}
    for month_key, member, orders, revenue in found:
        row = months.setdefault(month_key, [month_key, 0, Decimal(0), 0, Decimal(0)])
        offset = 1 if int(member) else 3
        row[offset] += int(orders)
        row[offset + 1] += quantize(Decimal(revenue or 0), shop.currency)
    return Table(("month", "member_orders", "member_revenue", "non_member_orders", "non_member_revenue"),
                 [tuple(r) for r in months.values()][-24:])


def retention_cohorts(session: Session, shop: Shop) -> Table:
    """Share of each first-order-month cohort that ordered again 1..N months later."""
    first_month, order_month = month_of(session, "f.first_at"), month_of(session, "o.placed_at")
    found = _rows(session, f"""
        WITH firsts AS (
            SELECT customer_shopify_id AS sid, MIN(placed_at) AS first_at FROM orders
            WHERE shop_id = :shop AND cancelled = :no AND customer_shopify_id IS NOT NULL
            GROUP BY customer_shopify_id)
        SELECT {first_month} AS cohort, {order_month} AS month, COUNT(DISTINCT o.customer_shopify_id)
        FROM orders o JOIN firsts f ON f.sid = o.customer_shopify_id
        WHERE o.shop_id = :shop AND o.cancelled = :no
        GROUP BY {first_month}, {order_month}""", shop=shop.id, no=False)
    cohorts: dict[str, dict[int, int]] = {}
    for cohort, month, customers in found:
        offset = _months_between(cohort, month)
        cohorts.setdefault(cohort, {})[offset] = int(customers)
    rows = []
    for cohort in sorted(cohorts)[-COHORT_MONTHS:]:
        size = cohorts[cohort].get(0, 0)
        rows.append((cohort, size, *(_pct(cohorts[cohort].get(k, 0), size) for k in range(1, RETENTION_OFFSETS + 1))))
    return Table(("cohort", "customers", *(f"m{k}_pct" for k in range(1, RETENTION_OFFSETS + 1))), rows)


def points_flow(session: Session, shop: Shop) -> Table:
    """Points issued, redeemed and expired per month."""
    month = month_of(session, "occurred_at")
    kinds = ", ".join(f"'{k}'" for k in ISSUED_KINDS)
    found = _rows(session, f"""
        SELECT {month} AS month,
          SUM(CASE WHEN kind IN ({kinds}) THEN available + pending
                   WHEN kind = 'adjust' AND available + pending > 0 THEN available + pending ELSE 0 END),
          SUM(CASE WHEN kind = 'redeem' THEN -available WHEN kind = 'redeem_refund' THEN -available ELSE 0 END),
          SUM(CASE WHEN kind = 'expire' THEN -available ELSE 0 END)
        FROM ledger_entries WHERE shop_id = :shop GROUP BY {month} ORDER BY 1""", shop=shop.id)
    return Table(("month", "issued", "redeemed", "expired"),
                 [(m, int(i or 0), int(r or 0), int(e or 0)) for m, i, r, e in found][-24:])


_EVENT = "SELECT 1 FROM email_events e WHERE e.outbox_id = m.id AND e.event = '{event}'"


def email_rates(session: Session, shop: Shop) -> Table:
    """Per flow: sent, and delivered / open / click rates over delivered-or-sent messages."""
    found = _rows(session, f"""
        SELECT m.flow, COUNT(*),
          SUM(CASE WHEN EXISTS ({_EVENT.format(event="delivered")}) THEN 1 ELSE 0 END),
          SUM(CASE WHEN EXISTS ({_EVENT.format(event="open")}) THEN 1 ELSE 0 END),
          SUM(CASE WHEN EXISTS ({_EVENT.format(event="click")}) THEN 1 ELSE 0 END)
        FROM email_outbox m WHERE m.shop_id = :shop AND m.status IN ('sent', 'outbox')
        GROUP BY m.flow ORDER BY m.flow""", shop=shop.id)
    return Table(("flow", "sent", "delivered_pct", "open_pct", "click_pct"),
                 [(flow, int(n), _pct(d, n), _pct(o, d), _pct(c, d)) for flow, n, d, o, c in found])




def tier_distribution(session: Session, shop: Shop, program: Program) -> Table:
    found = dict(_rows(session, f"""
        SELECT COALESCE(c.tier_name, ''), COUNT(*) FROM customers c
        WHERE c.shop_id = :shop AND c.shopify_id IN (SELECT sid FROM ({_MEMBERS}) AS m)
        GROUP BY COALESCE(c.tier_name, '')""", shop=shop.id))
    names = [t.name for t in program.tiers] + sorted(set(found) - {t.name for t in program.tiers} - {""})
    rows = [(name, int(found.get(name, 0))) for name in names]
    if found.get(""):
        rows.append(("—", int(found[""])))
    return Table(("tier", "members"), rows)
