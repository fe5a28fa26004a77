"""Admin API: complaint cases opened by low survey scores (open → answered → closed)."""
from __future__ import annotations

from flask import jsonify, request

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.feedback import surveys as feedback
from plugin.models import Complaint, utcnow
from plugin.web.json_body import json_object


def _feedback():
    return feedback


@bp.get("/api/complaints")
@require_session_token
def complaints_list():
    status = request.args.get("status")
    with state().db.transaction() as session:
        shop = current_shop(session)
        query = Complaint.for_shop(shop.id).order_by(Complaint.id.desc()).limit(200)
        if status:
            query = query.where(Complaint.status == status)
        rows = session.execute(query).scalars().all()
        return jsonify(complaints=[_feedback().complaint_dict(c) for c in rows])


@bp.post("/api/complaints/<int:complaint_id>/answer")
@require_session_token
def complaint_answer(complaint_id: int):
    answer = json_object().get("answer")
    if not isinstance(answer, str) or not answer.strip():
        return jsonify(error="answer: a non-empty string is required", field="answer"), 400
    return _transition(lambda s, shop_id, now: _feedback().answer_complaint(s, shop_id, complaint_id, answer, now))


@bp.post("/api/complaints/<int:complaint_id>/close")
@require_session_token
def complaint_close(complaint_id: int):
    return _transition(lambda s, shop_id, now: _feedback().close_complaint(s, shop_id, complaint_id, now))


def _transition(action):
    feedback = _feedback()
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            complaint = action(session, shop.id, utcnow())
        except LookupError:
            return jsonify(error="complaint not found"), 404
        except feedback.FeedbackError as exc:
            return jsonify(error=str(exc)), 409
        return jsonify(complaint=feedback.complaint_dict(complaint))
