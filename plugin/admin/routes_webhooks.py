"""Admin API: the merchant's outbound webhook endpoints and their deliveries."""
from __future__ import annotations

from flask import g, jsonify, request

from plugin.admin import bp
from plugin.admin.session import require_session_token
from plugin.app_state import state
from plugin.models import utcnow
from plugin.outbound import endpoints
from plugin.outbound.rules.events import TOPICS
from plugin.outbound.rules.signing import HEADER
from plugin.web.json_body import json_object


def _bad(exc: endpoints.EndpointError):
    return jsonify(error=str(exc), field=exc.field, errors={exc.field: str(exc)}), 400


def _missing():
    return jsonify(error="no such endpoint in this shop"), 404


@bp.get("/api/webhooks")
@require_session_token
def webhook_endpoints():
    with state().db.transaction() as session:
        last = endpoints.last_deliveries(session, g.shop_id)
        rows = [endpoints.describe(e, last.get(e.id)) for e in endpoints.list_endpoints(session, g.shop_id)]
    return jsonify(endpoints=rows, topics=list(TOPICS), signature_header=HEADER)


@bp.post("/api/webhooks")
@require_session_token
def webhook_register():
    body = json_object()
    app_state = state()
    try:
        with app_state.db.transaction() as session:
            registered = endpoints.register(session, app_state, g.shop_id, body.get("url"), body.get("topics"), utcnow())
            described = endpoints.describe(registered.endpoint)
    except endpoints.EndpointError as exc:
        return _bad(exc)
    # The secret is shown this once; only its ciphertext is stored.
    return jsonify(endpoint=described, secret=registered.secret), 201


@bp.patch("/api/webhooks/<int:endpoint_id>")
@require_session_token
def webhook_change(endpoint_id: int):
    body = json_object()
    app_state = state()
    try:
        with app_state.db.transaction() as session:
            endpoint = endpoints.change(session, app_state, g.shop_id, endpoint_id, topics=body.get("topics"),
                                        enabled=body.get("enabled"), url=body.get("url"))
            return jsonify(endpoint=endpoints.describe(endpoint))
    except endpoints.EndpointError as exc:
        return _bad(exc)
    except endpoints.EndpointNotFound:
        return _missing()


@bp.post("/api/webhooks/<int:endpoint_id>/rotate-secret")
@require_session_token
def webhook_rotate_secret(endpoint_id: int):
    app_state = state()
    try:
        with app_state.db.transaction() as session:
            return jsonify(secret=endpoints.rotate_secret(session, app_state, g.shop_id, endpoint_id))
    except endpoints.EndpointNotFound:
        return _missing()


@bp.delete("/api/webhooks/<int:endpoint_id>")
@require_session_token
def webhook_remove(endpoint_id: int):
    try:
        with state().db.transaction() as session:
            endpoints.remove(session, g.shop_id, endpoint_id)
    except endpoints.EndpointNotFound:
        return _missing()
    return "", 204


@bp.get("/api/webhooks/deliveries")
@require_session_token
def webhook_deliveries():
    raw = request.args.get("endpoint_id")
    if raw is not None and not (raw.isascii() and raw.isdigit()):  # "²".isdigit(), but int("²") fails
        return jsonify(error="endpoint_id: a number", field="endpoint_id", errors={"endpoint_id": "a number"}), 400
    with state().db.transaction() as session:
        return jsonify(deliveries=endpoints.recent_deliveries(session, g.shop_id, int(raw) if raw else None))
