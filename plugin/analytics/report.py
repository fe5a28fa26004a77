"""The analytics page: KPIs, charts and tables, and their CSV exports."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.analytics import queries
from plugin.analytics.charts import bar_chart, line_chart
from plugin.analytics.definitions import describe
from plugin.analytics.live import current_figures
from plugin.analytics.queries import TABLES
from plugin.loyalty.rules.program import Program
from plugin.models import Customer, LedgerEntry, Shop

RAW_EXPORTS = ("customers", "ledger")


def _chart(figure: str, title: str, t: queries.Table) -> str:
    col = {name: i for i, name in enumerate(t.columns)}
    rows = t.rows
    if figure == "members_vs_non_members":
        return bar_chart(title, [r[0] for r in rows], {"repeat %": [r[col["repeat_rate_pct"]] for r in rows]})
    if figure == "monthly_revenue":
        return line_chart(title, [r[0] for r in rows], {"members": [r[2] for r in rows],
                                                         "non-members": [r[4] for r in rows]})
    if figure == "retention_cohorts":
        return line_chart(title, [c for c in t.columns[2:]], {r[0]: list(r[2:]) for r in rows[-5:]})
    if figure == "points_flow":
        return bar_chart(title, [r[0] for r in rows], {"issued": [r[1] for r in rows],
                                                        "redeemed": [r[2] for r in rows],
                                                        "expired": [r[3] for r in rows]})
    if figure == "feedback_scores":
        months = sorted({r[0] for r in rows})
        kinds = sorted({r[1] for r in rows})
        score = {(r[0], r[1]): r[3] for r in rows}
        return line_chart(title, months, {k: [score.get((m, k)) for m in months] for k in kinds} or {"-": []})
    if figure == "email_rates":
        return bar_chart(title, [r[0] for r in rows], {"delivered %": [r[2] for r in rows],
                                                        "open %": [r[3] for r in rows],
                                                        "click %": [r[4] for r in rows]})
    if figure == "recovery":
        return bar_chart(title, [f"#{r[0]}" for r in rows], {"rate %": [r[3] for r in rows]})
    return bar_chart(title, [r[0] for r in rows], {t.columns[1]: [r[1] for r in rows]})


def summary(shop: Shop, figures: dict[str, Any], computed_at: datetime, lang: str) -> dict:
    """Every figure with its chart (SVG), rows and definition, plus the KPIs, from ``figures``
    (live.compute_figures)."""
    charts = []
    for figure in TABLES:
        data = figures[figure]
        t = queries.Table(tuple(data["columns"]), [tuple(r) for r in data["rows"]])
        title, definition = describe(figure, lang)
        charts.append({"id": figure, "title": title, "definition": definition, "svg": _chart(figure, title, t),
                       "columns": data["columns"], "rows": data["rows"]})
    owed = figures["liability"]
    flow = figures["points_flow"]["rows"]
    issued, redeemed = sum(r[1] for r in flow), sum(r[2] for r in flow)
    members = {r[0]: r for r in figures["members_vs_non_members"]["rows"]}
    kpis = [
        _kpi("liability", lang, f"{owed['money']} {shop.currency}", f" ({owed['points']} pts × {owed['point_value']})"),
        _kpi("redemption_rate", lang, f"{queries._pct(redeemed, issued)} %"),
        _kpi("members_vs_non_members", lang, f"{members['members'][3]} % / {members['non_members'][3]} %",
             f" · AOV {members['members'][6]} / {members['non_members'][6]} {shop.currency}"),
    ]
    return {"currency": shop.currency, "computed_at": computed_at.isoformat(), "kpis": kpis, "charts": charts,
            "exports": [*TABLES, *RAW_EXPORTS]}


def _kpi(figure: str, lang: str, value: str, note: str = "") -> dict:
    title, definition = describe(figure, lang)
    return {"id": figure, "label": title, "value": value + note, "definition": definition}


def csv_lines(session: Session, shop: Shop, program: Program, name: str) -> Iterator[str]:
    """CSV text of one figure, or of every customer with balances, or of the whole ledger."""
    header: tuple[str, ...]
    rows: Iterator[tuple[Any, ...]] | Iterator[list[Any]]
    if name == "customers":
        header = ("shopify_id", "email", "first_name", "last_name", "points_available", "points_pending", "tier",
                  "birthday", "marketing_state", "created_at")
        rows = ((c.shopify_id, c.email, c.first_name, c.last_name, c.points_available, c.points_pending,
                 c.tier_name, c.birthday, c.marketing_state, c.created_at.isoformat())
                for c in session.execute(Customer.for_shop(shop.id).order_by(Customer.id)
                                         .execution_options(yield_per=1000)).scalars())
    elif name == "ledger":
        header = ("entry_id", "customer_shopify_id", "kind", "available", "pending", "reason", "source", "order_id",
                  "occurred_at")
        rows = ((e.id, sid, e.kind, e.available, e.pending, e.reason, e.source, e.order_id, e.occurred_at.isoformat())
                for e, sid in session.execute(
                    select(LedgerEntry, Customer.shopify_id).join(Customer, Customer.id == LedgerEntry.customer_id)
                    .where(LedgerEntry.shop_id == shop.id).order_by(LedgerEntry.id)
                    .execution_options(yield_per=1000)))
    else:
        figures, _ = current_figures(session, shop, program)
        header, rows = tuple(figures[name]["columns"]), iter(figures[name]["rows"])
    yield _line(header)
    for row in rows:
        yield _line(row)


def _line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else _safe(v) for v in values])
    return buffer.getvalue()


def _safe(value):
    """No spreadsheet formulas from customer-typed text (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
