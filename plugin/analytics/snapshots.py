"""Where the dashboard's numbers come from.

Without a worker (the demo, ``REDIS_URL`` unset) every view computes the figures at once: the
data is small. With a worker, the dashboard reads the shop's last snapshot (one row) and, when
it is older than ``FRESH_FOR``, enqueues a refresh job; the page shows when it was computed. The
first view of a shop computes it in the request. bench/analytics.py measures both paths.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from plugin.analytics import queries
from plugin.analytics.queries import TABLES, table
from plugin.app_state import state
from plugin.db import insert_ignoring_conflicts
from plugin.loyalty.rules.program import Program
from plugin.loyalty.status import shop_program
from plugin.models.analytics import AnalyticsSnapshot
from plugin.models.base import utcnow
from plugin.models.shop import Shop

FRESH_FOR = timedelta(minutes=10)
REFRESH_JOB = "plugin.analytics.snapshots.refresh_analytics_job"


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def compute_figures(session: Session, shop: Shop, program: Program) -> dict[str, Any]:
    """Every figure's rows (JSON-ready) and the points liability, straight from SQL."""
    figures: dict[str, Any] = {}
    for name in TABLES:
        t = table(session, shop, program, name)
        figures[name] = {"columns": list(t.columns), "rows": [[_json(v) for v in row] for row in t.rows]}
    figures["liability"] = {k: _json(v) for k, v in queries.liability(session, shop, program).items()}
    return figures


def store_snapshot(session: Session, shop: Shop, figures: dict[str, Any], now: datetime) -> None:
    values = {"shop_id": shop.id, "computed_at": now, "figures": figures}
    if insert_ignoring_conflicts(session, AnalyticsSnapshot, values, ["shop_id"]) is None:
        row = session.execute(AnalyticsSnapshot.for_shop(shop.id).with_for_update()).scalar_one()
        row.computed_at, row.figures = now, figures


def current_figures(session: Session, shop: Shop, program: Program) -> tuple[dict[str, Any], datetime]:
    """(figures, computed at) for the dashboard, following the rules in the module docstring."""
    app_state, now = state(), utcnow()
    if not app_state.config.redis_url:
        return compute_figures(session, shop, program), now
    snapshot = session.execute(AnalyticsSnapshot.for_shop(shop.id)).scalar_one_or_none()
    if snapshot is None:
        figures = compute_figures(session, shop, program)
        store_snapshot(session, shop, figures, now)
        return figures, now
    if now - snapshot.computed_at > FRESH_FOR:
        bucket = int(now.timestamp() // FRESH_FOR.total_seconds())
        app_state.queue.enqueue(REFRESH_JOB, shop.id, job_id=f"analytics-{shop.id}-{bucket}")
    return snapshot.figures, snapshot.computed_at


def refresh_analytics_job(shop_id: int) -> str:
    """RQ job (in the app's context): recompute and store one shop's snapshot."""
    with state().db.transaction() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return "gone"
        store_snapshot(session, shop, compute_figures(session, shop, shop_program(shop)), utcnow())
    return "refreshed"
