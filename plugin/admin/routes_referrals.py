"""Admin API: the referral review queue (list, approve, reject)."""
from __future__ import annotations

from flask import g, jsonify, request

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.models import utcnow
from plugin.referrals.review import ReviewError, approve, list_referrals, reject
from plugin.web.json_body import json_object


def _reviewer() -> str:
    return f"staff:{g.staff_user_id}" if g.get("staff_user_id") else "staff"


@bp.get("/api/referrals")
@require_session_token
def referrals_list():
    try:
        with state().db.transaction() as session:
            return jsonify(referrals=list_referrals(session, current_shop(session), request.args.get("status") or None))
    except ReviewError as exc:
        return jsonify(error=str(exc), field="status"), 400


@bp.post("/api/referrals/<int:referral_id>/approve")
@require_session_token
def referral_approve(referral_id: int):
    return _review(lambda session, shop: approve(session, shop, referral_id, _reviewer(), utcnow()))


@bp.post("/api/referrals/<int:referral_id>/reject")
@require_session_token
def referral_reject(referral_id: int):
    reason = json_object().get("reason") or ""
    if not isinstance(reason, str):
        return jsonify(error="reason: must be text", field="reason"), 400
    return _review(lambda session, shop: reject(session, shop, referral_id, _reviewer(), reason, utcnow()))


def _review(action):
    try:
        with state().db.transaction() as session:
            return jsonify(referral=action(session, current_shop(session)))
    except ReviewError as exc:
        status = 404 if str(exc).startswith("no referral") else 409
        if "reason is required" in str(exc):
            status = 400
        return jsonify(error=str(exc)), status
