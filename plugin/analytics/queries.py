"""The analytics figures. Every query is scoped by shop and aggregates in the database;
Python only shapes the (small) results. Order, membership and points figures read the
rollups kept by plugin/rollups/store.py (hundreds of rows, not millions); reference.py has
the same figures straight from the source tables, which the tests and the bench compare.

Definitions (also shown in the admin, definitions.py):
- member: a customer with at least one ledger entry (auto-enrolled customers count from
  their first entry); non-member: a customer with orders and no ledger entry.
- orders count when not cancelled; revenue is ``current_total`` (after refunds) in shop money.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from plugin.analytics.sql import month_of
from plugin.loyalty.rules.money import quantize
from plugin.loyalty.rules.program import Program
from plugin.loyalty.rules.rewards import point_value
from plugin.models import Shop
from plugin.recovery.analytics import recovery_stats

ISSUED_KINDS = ("earn", "action", "referral", "tier_bonus")
COHORT_MONTHS = 12
RETENTION_OFFSETS = 6


@dataclass(frozen=True)
class Table:
    """One figure as rows: what the chart draws and the CSV exports."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _pct(part: Any, whole: Any) -> Decimal:
    part, whole = Decimal(part or 0), Decimal(whole or 0)
    return (part * 100 / whole).quantize(Decimal("0.1")) if whole else Decimal("0.0")


def _rows(session: Session, sql: str, **params: Any) -> list[tuple]:
    return [tuple(r) for r in session.execute(text(sql), params).all()]


def members_vs_non_members(session: Session, shop: Shop) -> Table:
    """Repeat-purchase rate and average order value, members vs non-members (member-group rollup:
    customers who ordered, those with 2+ orders, orders, revenue per side)."""
    found = _rows(session, """
        SELECT CASE WHEN member THEN 1 ELSE 0 END, SUM(customers), SUM(repeaters), SUM(orders), SUM(revenue)
        FROM analytics_member_groups WHERE shop_id = :shop
        GROUP BY CASE WHEN member THEN 1 ELSE 0 END""", shop=shop.id)
    return _members_table(found, shop)


def _members_table(found: list[tuple], shop: Shop) -> Table:
    by_group = {int(r[0]): r for r in found}
    rows = []
    for member, label in ((1, "members"), (0, "non_members")):
        _, customers, repeaters, orders, revenue = by_group.get(member, (member, 0, 0, 0, 0))
        aov = quantize(Decimal(revenue or 0) / orders, shop.currency) if orders else Decimal(0)
        rows.append((label, int(customers or 0), int(repeaters or 0), _pct(repeaters, customers), int(orders or 0),
                     quantize(Decimal(revenue or 0), shop.currency), aov))
    return Table(("group", "customers", "repeat_customers", "repeat_rate_pct", "orders", "revenue", "aov"), rows)


def monthly_revenue(session: Session, shop: Shop) -> Table:
    """Orders and revenue per month, members vs non-members (time series, from the month rollup)."""
    found = _rows(session, """
        SELECT month, CASE WHEN member THEN 1 ELSE 0 END, SUM(orders), SUM(revenue) FROM analytics_months
        WHERE shop_id = :shop GROUP BY month, member HAVING SUM(orders) > 0 ORDER BY month""", shop=shop.id)
    return _monthly_table(found, shop)


def _monthly_table(found: list[tuple], shop: Shop) -> Table:
    months: dict[str, list[Any]] = {}
    for month_key, member, orders, revenue in found:
        row = months.setdefault(month_key, [month_key, 0, Decimal(0), 0, Decimal(0)])
        offset = 1 if int(member) else 3
        row[offset] += int(orders)
        row[offset + 1] += quantize(Decimal(revenue or 0), shop.currency)
    return Table(("month", "member_orders", "member_revenue", "non_member_orders", "non_member_revenue"),
                 [tuple(r) for r in months.values()][-24:])


def retention_cohorts(session: Session, shop: Shop) -> Table:
    """Share of each first-order-month cohort that ordered again 1..N months later (cohort rollup)."""
    found = _rows(session, """
        SELECT cohort, month, SUM(customers) FROM analytics_cohorts WHERE shop_id = :shop
        GROUP BY cohort, month HAVING SUM(customers) > 0""", shop=shop.id)
    return _cohort_table(found)


def _cohort_table(found: list[tuple]) -> Table:
    cohorts: dict[str, dict[int, int]] = {}
    for cohort, month, customers in found:
        offset = _months_between(cohort, month)
        cohorts.setdefault(cohort, {})[offset] = int(customers)
    rows = []
    for cohort in sorted(cohorts)[-COHORT_MONTHS:]:
        size = cohorts[cohort].get(0, 0)
        rows.append((cohort, size, *(_pct(cohorts[cohort].get(k, 0), size) for k in range(1, RETENTION_OFFSETS + 1))))
    return Table(("cohort", "customers", *(f"m{k}_pct" for k in range(1, RETENTION_OFFSETS + 1))), rows)


def _months_between(start: str, end: str) -> int:
    (y1, m1), (y2, m2) = (map(int, start.split("-")), map(int, end.split("-")))
    return (y2 - y1) * 12 + (m2 - m1)


def points_flow(session: Session, shop: Shop) -> Table:
    """Points issued, redeemed and expired per month (points rollup)."""
    found = _rows(session, """
        SELECT month, SUM(issued), SUM(redeemed), SUM(expired) FROM analytics_points_months
        WHERE shop_id = :shop GROUP BY month ORDER BY month""", shop=shop.id)
    return Table(("month", "issued", "redeemed", "expired"),
                 [(m, int(i or 0), int(r or 0), int(e or 0)) for m, i, r, e in found][-24:])


def liability(session: Session, shop: Shop, program: Program) -> dict:
    """Outstanding points (available + pending) and what they are worth in shop money."""
    available, pending = session.execute(text(
        "SELECT COALESCE(SUM(points_available), 0), COALESCE(SUM(points_pending), 0) FROM customers "
        "WHERE shop_id = :shop"), {"shop": shop.id}).one()
    value = point_value(program)
    points = int(available) + int(pending)
    return {"points": points, "available": int(available), "pending": int(pending), "point_value": value,
            "money": quantize(value * points, shop.currency)}


def tier_distribution(session: Session, shop: Shop, program: Program) -> Table:
    """Members by their current tier (tier rollup, moved by tier changes and new members)."""
    found = dict(_rows(session, """
        SELECT tier, SUM(members) FROM analytics_tiers WHERE shop_id = :shop
        GROUP BY tier HAVING SUM(members) <> 0""", shop=shop.id))
    names = [t.name for t in program.tiers] + sorted(set(found) - {t.name for t in program.tiers} - {""})
    rows = [(name, int(found.get(name, 0))) for name in names]
    if found.get(""):
        rows.append(("—", int(found[""])))
    return Table(("tier", "members"), rows)


def referral_funnel(session: Session, shop: Shop) -> Table:
    clicks, visitors = session.execute(text(
        "SELECT COUNT(*), COUNT(DISTINCT COALESCE(ip_hash, '') || ':' || COALESCE(ua_hash, '')) "
        "FROM referral_clicks WHERE shop_id = :shop"), {"shop": shop.id}).one()
    first_orders, successful = session.execute(text(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'successful' THEN 1 ELSE 0 END), 0) "
        "FROM referrals WHERE shop_id = :shop"), {"shop": shop.id}).one()
    return Table(("stage", "count"), [("clicks", int(clicks)), ("friends", int(visitors)),
                                      ("first_orders", int(first_orders)), ("successful", int(successful))])


def recovery(session: Session, shop: Shop) -> Table:
    stats = recovery_stats(session, shop)
    return Table(("step", "sent", "recovered", "recovery_rate_pct", "recovered_revenue"),
                 [(s["step"], s["sent"], s["recovered"], Decimal(s["recovery_rate"]), Decimal(s["recovered_revenue"]))
                  for s in stats["steps"]])


def feedback_scores(session: Session, shop: Shop) -> Table:
    """Per month and survey type: NPS (% 9-10 minus % 0-6), CSAT (% 4-5), CES (average 1-7)."""
    month = month_of(session, "created_at")
    found = _rows(session, f"""
        SELECT {month}, survey_type, COUNT(*),
          SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END),
          SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END), SUM(score)
        FROM survey_responses WHERE shop_id = :shop GROUP BY {month}, survey_type ORDER BY 1""", shop=shop.id)
    rows = []
    for month_key, kind, n, promoters, detractors, satisfied, total in found:
        if kind == "nps":
            score = _pct(promoters, n) - _pct(detractors, n)
        elif kind == "csat":
            score = _pct(satisfied, n)
        else:
            score = (Decimal(total) / n).quantize(Decimal("0.01")) if n else Decimal(0)
        rows.append((month_key, kind, int(n), score))
    return Table(("month", "survey", "responses", "score"), rows)


def email_rates(session: Session, shop: Shop) -> Table:
    """Per flow: sent, and delivered / open / click rates over delivered-or-sent messages.
    One pass over the shop's events (which message had which kind), joined to its messages."""
    found = _rows(session, """
        SELECT m.flow, COUNT(*), COALESCE(SUM(e.delivered), 0), COALESCE(SUM(e.opened), 0),
               COALESCE(SUM(e.clicked), 0)
        FROM email_outbox m LEFT JOIN (
            SELECT outbox_id, MAX(CASE WHEN event = 'delivered' THEN 1 ELSE 0 END) AS delivered,
                   MAX(CASE WHEN event = 'open' THEN 1 ELSE 0 END) AS opened,
                   MAX(CASE WHEN event = 'click' THEN 1 ELSE 0 END) AS clicked
            FROM email_events WHERE shop_id = :shop AND event IN ('delivered', 'open', 'click')
            GROUP BY outbox_id) e ON e.outbox_id = m.id
        WHERE m.shop_id = :shop AND m.status IN ('sent', 'outbox')
        GROUP BY m.flow ORDER BY m.flow""", shop=shop.id)
    return Table(("flow", "sent", "delivered_pct", "open_pct", "click_pct"),
                 [(flow, int(n), _pct(d, n), _pct(o, d), _pct(c, d)) for flow, n, d, o, c in found])


TABLES: dict[str, Callable[..., Table]] = {
    "members_vs_non_members": members_vs_non_members,
    "monthly_revenue": monthly_revenue,
    "retention_cohorts": retention_cohorts,
    "points_flow": points_flow,
    "tier_distribution": tier_distribution,
    "referral_funnel": referral_funnel,
    "recovery": recovery,
    "feedback_scores": feedback_scores,
    "email_rates": email_rates,
}


def table(session: Session, shop: Shop, program: Program, figure: str) -> Table:
    query = TABLES[figure]
    return query(session, shop, program) if figure == "tier_distribution" else query(session, shop)
