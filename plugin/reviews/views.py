"""``POST /hooks/reviews/judgeme/<shop>`` and ``POST /hooks/reviews/yotpo/<shop>?token=…``
(the token rides in the query, which the access log leaves out: gunicorn.conf.py).

Verify first (401, nothing written), then one transaction: the award, keyed by the review id,
so the providers' retries post nothing twice. Anything we do not award (an update, an unknown
reviewer) answers 200 so the provider does not retry it forever.
"""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from plugin.app_state import state
from plugin.models import utcnow
from plugin.reviews.integrations import award_review, judgeme_signed, yotpo_token_valid
from plugin.reviews.payloads import ReviewPayloadError, judgeme_fact, yotpo_fact
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shops.tokens import find_shop

bp = Blueprint("reviews", __name__, url_prefix="/hooks/reviews")


def _rejected():
    return jsonify(error="signature or token does not match this shop's review integration"), 401


def _body():
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise ReviewPayloadError("body is not JSON") from None


def _handle(shop_domain: str, verify, parse):
    app_state, now = state(), utcnow()
    domain = normalize_shop_domain(shop_domain)
    with app_state.db.transaction() as session:
        shop = find_shop(session, domain) if domain else None
        integration = verify(session, shop) if shop is not None and shop.installed else None
        if integration is None:
            return _rejected()
        try:
            fact = parse(_body())
        except ReviewPayloadError as exc:
            return jsonify(error=str(exc)), 400
        if fact is None:
            return jsonify(status="ignored")
        if fact.shop_domain and normalize_shop_domain(fact.shop_domain) != shop.domain:
            return jsonify(error="shop_domain in the body is another shop"), 400
        integration.last_event_at = now
        award = award_review(session, shop, fact, now)
        return jsonify(status=award.status, action_id=award.action_id, points_awarded=award.points)


@bp.post("/judgeme/<shop_domain>")
def judgeme(shop_domain: str):
    body, signature = request.get_data(), request.headers.get("JUDGEME-HMAC-SHA256")
    return _handle(shop_domain, lambda session, shop: judgeme_signed(session, shop, body, signature,
                                                                     state().cipher), judgeme_fact)


@bp.post("/yotpo/<shop_domain>")
def yotpo(shop_domain: str):
    token = request.args.get("token", "")
    return _handle(shop_domain, lambda session, shop: yotpo_token_valid(session, shop, token), yotpo_fact)
