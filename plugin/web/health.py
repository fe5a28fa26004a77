"""GET /healthz: 200 when the database (and Redis, if configured) answer, 503 otherwise."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from plugin.app_state import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    app_state = state()
    checks = {"database": _database_ok(app_state.db)}
    if app_state.config.redis_url:
        checks["redis"] = _redis_ok(app_state.queue)
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable",
            "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    return jsonify(body), 200 if healthy else 503


def _database_ok(db) -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy", never a 500
        return False


def _redis_ok(queue) -> bool:
    try:
        return bool(queue.connection.ping())
    except Exception:
        return False
