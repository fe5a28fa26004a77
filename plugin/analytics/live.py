"""Where the dashboard's numbers come from: SQL aggregates over the rollups that the order
store and the ledger keep current (plugin/rollups/store.py), computed on every view.

Orders and ledger entries written through the services keep the rollups current from a shop's
install on (the bulk import included). A rebuild from the source tables covers the rest — data
that predates the rollups, or was written around the services (a redaction deleting rows, a
bulk SQL load): with a worker it is a background job, enqueued on a shop's first dashboard view
and then once a day while the dashboard is viewed (a big shop's rebuild takes a minute, longer
than a request may); without one (the demo, small data) the first view rebuilds in the request.
bench/analytics.py measures every figure at 1 M orders.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from plugin.analytics import queries
from plugin.analytics.queries import TABLES, table
from plugin.app_state import state
from plugin.loyalty.rules.program import Program
from plugin.models.base import utcnow
from plugin.models.shop import Shop
from plugin.rollups.store import built_at, rebuild

REBUILD_EVERY = timedelta(days=1)
REBUILD_JOB = "plugin.analytics.live.rebuild_rollups_job"


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


def current_figures(session: Session, shop: Shop, program: Program) -> tuple[dict[str, Any], datetime]:
    """(figures, computed at) for the dashboard, following the rules in the module docstring."""
    app_state, now = state(), utcnow()
    last = built_at(session, shop.id)
    if not app_state.config.redis_url:
        if last is None:
            rebuild(session, shop.id, now)
    elif last is None or now - last > REBUILD_EVERY:
        bucket = "first" if last is None else int(now.timestamp() // REBUILD_EVERY.total_seconds())
        app_state.queue.enqueue(REBUILD_JOB, shop.id, job_id=f"analytics-rebuild-{shop.id}-{bucket}")
    return compute_figures(session, shop, program), now


def rebuild_rollups_job(shop_id: int) -> str:
    """RQ job (in the app's context): rebuild one shop's rollups from the source tables."""
    with state().db.transaction() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            return "gone"
        rebuild(session, shop.id, utcnow())
    return "rebuilt"


