"""POST /webhooks — verify the HMAC, store the delivery, answer 200 fast, enqueue after commit."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from plugin import state
from plugin.customers import parse_shopify_time
from plugin.logs import get_logger
from plugin.models import utcnow
from plugin.models.inbox import PENDING
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.signatures import verify_webhook

from .inbox import Delivery, store_delivery
from .processing import enqueue_delivery

bp = Blueprint("webhooks", __name__)
log = get_logger("webhooks")


@bp.post("/webhooks")
def receive_webhook():
    app_state = state()
    raw = request.get_data(cache=False)
    if not verify_webhook(raw, request.headers.get("X-Shopify-Hmac-Sha256"), app_state.config.api_secret):
        log.warning("webhook rejected: bad signature")
        return jsonify(error="invalid HMAC signature"), 401
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    shop_domain = normalize_shop_domain(request.headers.get("X-Shopify-Shop-Domain") or "")
    if not topic or not shop_domain:
        return jsonify(error="X-Shopify-Topic and a valid X-Shopify-Shop-Domain are required"), 400

    delivery = Delivery(
        shop_domain=shop_domain, topic=topic, raw_body=raw,
        event_id=_header("X-Shopify-Event-Id"), webhook_id=_header("X-Shopify-Webhook-Id"),
        api_version=_header("X-Shopify-API-Version"), triggered_at=parse_shopify_time(_header("X-Shopify-Triggered-At")),
    )
    with app_state.db.transaction() as session:
        result = store_delivery(session, delivery, utcnow())
    if result.created and result.status == PENDING:
        enqueue_delivery(app_state.queue, result.delivery_id, attempts=0)
    log.info("webhook stored", extra={"shop": shop_domain, "topic": topic,
                                      "delivery_id": result.delivery_id, "status": result.status})
    return jsonify(status=result.status, delivery_id=result.delivery_id), 200


def _header(name: str) -> str | None:
    value = (request.headers.get(name) or "").strip()
    return value[:128] or None

