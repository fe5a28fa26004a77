"""POST /webhooks — verify the HMAC, store the delivery, answer 200 fast, enqueue after commit."""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import DBAPIError

from plugin.app_state import state
from plugin.customers.profiles import parse_shopify_time
from plugin.logs import get_logger
from plugin.models import utcnow
from plugin.models.inbox import PENDING
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.signatures import verify_webhook
from webhooks.inbox import Delivery, StoreResult, store_delivery
from webhooks.processing import enqueue_delivery

bp = Blueprint("webhooks", __name__)
# Resource parts reach 33 characters (customers_email_marketing_consent); the whole fits the 64-character column.
TOPIC_SHAPE = re.compile(r"[a-z_]{1,40}/[a-z_]{1,23}")
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
    if not TOPIC_SHAPE.fullmatch(topic) or not shop_domain:
        return jsonify(error="X-Shopify-Topic (like orders/paid) and a valid X-Shopify-Shop-Domain are required"), 400

    delivery = Delivery(
        shop_domain=shop_domain, topic=topic, raw_body=raw,
        event_id=_header("X-Shopify-Event-Id"), webhook_id=_header("X-Shopify-Webhook-Id"),
        api_version=_header("X-Shopify-API-Version"), triggered_at=parse_shopify_time(_header("X-Shopify-Triggered-At")),
    )
    result = _store(app_state, delivery)
    if result.created and result.status == PENDING:
        enqueue_delivery(app_state.queue, result.delivery_id, attempts=0)
    log.info("webhook stored", extra={"shop": shop_domain, "topic": topic,
                                      "delivery_id": result.delivery_id, "status": result.status})
    return jsonify(status=result.status, delivery_id=result.delivery_id), 200


def _store(app_state, delivery: Delivery) -> StoreResult:
    """Committed before the 200. On PostgreSQL the store is one statement, so autocommit
    is atomic and saves the BEGIN and COMMIT round trips; no ORM session on this path. A
    connection the server dropped while we held it is retried once on a fresh one: the
    insert is idempotent (ON CONFLICT DO NOTHING), so the retry cannot store twice."""
    for attempt in (1, 2):
        try:
            with app_state.db.autocommit_engine.connect() as conn:
                return store_delivery(conn, delivery, utcnow())
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _header(name: str) -> str | None:
    value = (request.headers.get(name) or "").strip()
    return value[:128] or None

