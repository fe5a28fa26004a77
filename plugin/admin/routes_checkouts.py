"""Admin API: abandoned-checkout recovery analytics (recovery rate and revenue per step)."""
from __future__ import annotations

from flask import jsonify

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.recovery.analytics import recovery_stats


@bp.get("/api/analytics/abandoned-checkouts")
@require_session_token
def abandoned_checkout_stats():
    with state().db.transaction() as session:
        return jsonify(recovery_stats(session, current_shop(session)))
