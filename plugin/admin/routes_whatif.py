"""Admin API: what-if runs of a draft program on the shop's history (a job with progress)."""
from __future__ import annotations

from decimal import Decimal

from flask import g, jsonify, request

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.loyalty.rules.program import dump_program
from plugin.loyalty.status import shop_program
from plugin.models import utcnow
from plugin.web.json_limits import bounded_loads
from plugin.whatif.runs import DraftRejected, enqueue_run, find_run, recent_runs, reclaim_lost_run, run_view, start_run


@bp.get("/api/whatif")
@require_session_token
def whatif_runs():
    """The live program (the starting point of a draft) and the latest runs."""
    with state().db.transaction() as session:
        shop = current_shop(session)
        return jsonify(program=dump_program(shop_program(shop)), runs=recent_runs(session, shop))


@bp.post("/api/whatif")
@require_session_token
def whatif_start():
    """``{"program": <draft document>}`` → 202 and the queued run (400 naming the bad field)."""
    try:
        body = bounded_loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
    except ValueError:
        body = None
    document = body.get("program") if isinstance(body, dict) else None
    with state().db.transaction() as session:
        try:
            run_id = start_run(session, current_shop(session), document, f"staff:{g.staff_user_id}").id
        except DraftRejected as exc:
            session.rollback()
            return jsonify(error=f"{exc.path}: {exc.message}", path=exc.path, errors={exc.path: exc.message}), 400
    enqueue_run(run_id)  # after the commit: the job must see the row
    with state().db.transaction() as session:
        shop = current_shop(session)
        return jsonify(run_view(session, shop, find_run(session, shop, run_id))), 202


@bp.get("/api/whatif/<int:run_id>")
@require_session_token
def whatif_run(run_id: int):
    """Progress while it runs (``done``/``total`` orders), then the report."""
    with state().db.transaction() as session:
        shop = current_shop(session)
        run = find_run(session, shop, run_id)
        if run is None:
            return jsonify(error=f"no what-if run {run_id} in this shop"), 404
        lost = reclaim_lost_run(run, utcnow())
        view = run_view(session, shop, run)
    if lost:
        enqueue_run(run_id)  # the page's polling hands a lost job over again (harmless twice)
    return jsonify(view)
