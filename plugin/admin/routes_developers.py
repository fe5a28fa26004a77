"""Admin API: the open API's keys (created, listed, revoked; a key is shown once) and the review
apps allowed to award the program's review actions."""
from __future__ import annotations

from urllib.parse import quote

from flask import g, jsonify

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.loyalty.status import shop_program
from plugin.models import utcnow
from plugin.open_api.keys import ApiKeyError, create_key, list_keys, revoke_key
from plugin.reviews.integrations import (
    PROVIDERS,
    IntegrationError,
    connect_judgeme,
    connect_yotpo,
    disconnect,
    list_integrations,
)
from plugin.web.json_body import json_object


def _hook_url(provider: str, domain: str) -> str:
    return f"{state().config.app_url}/hooks/reviews/{provider}/{quote(domain)}"


@bp.get("/api/developers")
@require_session_token
def developers():
    with state().db.transaction() as session:
        shop = current_shop(session)
        program = shop_program(shop)
        return jsonify(keys=list_keys(session, shop), integrations=list_integrations(session, shop),
                       api_base=f"{state().config.app_url}/v1",
                       judgeme_url=_hook_url("judgeme", shop.domain),
                       actions=[{"id": a.id, "points": a.points, "limit": a.limit, "cooldown": a.cooldown}
                                for a in program.actions.custom])


@bp.post("/api/api-keys")
@require_session_token
def api_key_create():
    name = json_object().get("name")
    with state().db.transaction() as session:
        try:
            new = create_key(session, current_shop(session), name if isinstance(name, str) else "",
                             f"staff:{g.staff_user_id}", utcnow())
        except ApiKeyError as exc:
            session.rollback()
            return jsonify(error=str(exc), field="name", errors={"name": str(exc)}), 400
        return jsonify(id=new.id, name=new.name, key=new.key,
                       note="Copy this key now: it is shown only once."), 201


@bp.delete("/api/api-keys/<int:key_id>")
@require_session_token
def api_key_revoke(key_id: int):
    with state().db.transaction() as session:
        if not revoke_key(session, current_shop(session), key_id, utcnow()):
            return jsonify(error="no such key in this shop"), 404
    return jsonify(revoked=key_id)


@bp.put("/api/review-integrations/judgeme")
@require_session_token
def judgeme_connect():
    secret = json_object().get("secret")
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            connect_judgeme(session, shop, secret if isinstance(secret, str) else "", state().cipher,
                            f"staff:{g.staff_user_id}", utcnow())
        except IntegrationError as exc:
            session.rollback()
            return jsonify(error=str(exc), field="secret", errors={"secret": str(exc)}), 400
        return jsonify(provider="judgeme", url=_hook_url("judgeme", shop.domain))


@bp.post("/api/review-integrations/yotpo")
@require_session_token
def yotpo_connect():
    with state().db.transaction() as session:
        shop = current_shop(session)
        token = connect_yotpo(session, shop, f"staff:{g.staff_user_id}", utcnow())
        return jsonify(provider="yotpo", url=f"{_hook_url('yotpo', shop.domain)}?token={token}",
                       note="Copy this URL now: its token is shown only once."), 201


@bp.delete("/api/review-integrations/<provider>")
@require_session_token
def review_disconnect(provider: str):
    if provider not in PROVIDERS:
        return jsonify(error=f"provider: one of {', '.join(PROVIDERS)}"), 404
    with state().db.transaction() as session:
        if not disconnect(session, current_shop(session), provider):
            return jsonify(error="not connected"), 404
    return jsonify(disconnected=provider)
