"""``/proxy/...``: Shopify forwards storefront requests here, signed with the app secret.

The signature covers the raw query; the shop comes from its signed ``shop`` param and the
shopper ONLY from ``logged_in_customer_id`` (empty for guests), never from the body.
Ids go out as strings (they exceed 2**53).
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, g, jsonify, request

from plugin.app_state import state
from plugin.loyalty.rules.ledger import InsufficientPoints
from plugin.models import Customer, utcnow
from plugin.loyalty.redemption import ShopifyRefused, UnknownReward, redeem_reward
from plugin.shopify.signatures import verify_app_proxy
from plugin.shops.tokens import find_shop
from plugin.web.json_body import json_object

from plugin.storefront.payload import customer_payload, explainer_payload

bp = Blueprint("storefront", __name__, url_prefix="/proxy")


@bp.before_request
def verify_signature():
    app_state = state()
    if not verify_app_proxy(request.query_string, app_state.config.api_secret, now=int(time.time())):
        return jsonify(error="invalid or expired App Proxy signature"), 401
    with app_state.db.transaction() as session:
        shop = find_shop(session, request.args.get("shop", ""))
        if shop is None or not shop.installed:
            return jsonify(error="this shop has not installed Embajador"), 401
        g.proxy_shop_id = shop.id
    g.proxy_customer_shopify_id = (request.args.get("logged_in_customer_id") or "").strip() or None


def _customer(session, shop_id: int) -> Customer | None:
    shopify_id = g.proxy_customer_shopify_id
    if shopify_id is None:
        return None
    if not shopify_id.isdigit():
        abort(400)
    return session.execute(Customer.for_shop(shop_id).where(Customer.shopify_id == shopify_id)).scalar_one_or_none()


def _ensure_customer(session, shop_id: int) -> Customer | None:
    """A logged-in shopper we have not heard of yet (webhook still on its way) starts at zero."""
    customer = _customer(session, shop_id)
    if customer is None and g.proxy_customer_shopify_id:
        customer = Customer(shop_id=shop_id, shopify_id=g.proxy_customer_shopify_id)
        session.add(customer)
        session.flush()
    return customer


@bp.get("/customer")
def customer_status_view():
    from plugin.models import Shop
    with state().db.transaction() as session:
        shop = session.get(Shop, g.proxy_shop_id)
        customer = _customer(session, shop.id)
        if g.proxy_customer_shopify_id is None:
            return jsonify(explainer_payload(shop))
        if customer is None:
            customer = _ensure_customer(session, shop.id)
        return jsonify(customer_payload(session, shop, customer, utcnow(), state().config.app_url))


@bp.post("/redeem")
def redeem_view():
    if g.proxy_customer_shopify_id is None:
        return jsonify(error="log in to your account to redeem points"), 401
    reward_id = json_object().get("reward_id")
    if not isinstance(reward_id, str) or not reward_id:
        return jsonify(error="reward_id: required"), 400
    with state().db.transaction() as session:
        customer = _ensure_customer(session, g.proxy_shop_id)
        customer_id = customer.id
    try:
        issued = redeem_reward(state(), g.proxy_shop_id, customer_id, reward_id, utcnow())
    except UnknownReward:
        return jsonify(error=f"reward_id: unknown reward {reward_id!r}"), 400
    except InsufficientPoints as exc:
        return jsonify(error=f"not enough points: this reward needs {exc.needed}, you have {exc.available}",
                       needed=exc.needed, available=exc.available), 409
    except ShopifyRefused:
        return jsonify(error="Shopify could not create the code; your points were not spent, please try again"), 502
    return jsonify(code=issued.code, reward_id=issued.reward_id, cost=issued.cost,
                   redemption_id=str(issued.redemption_id),
                   expires_at=issued.expires_at.isoformat() if issued.expires_at else None,
                   points={"available": issued.points_available})


@bp.post("/birthday")
def birthday_view():
    """The shopper's birthday, once; a different date later needs the merchant (409)."""
    from plugin.loyalty.birthdays import BirthdayError, BirthdayLocked, set_birthday
    from plugin.loyalty.tier_sync import shop_local
    from plugin.models import Shop
    if g.proxy_customer_shopify_id is None:
        return jsonify(error="log in to your account to save your birthday"), 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "birthday" not in body:
        return jsonify(error="birthday: required, written YYYY-MM-DD", field="birthday"), 400
    with state().db.transaction() as session:
        shop = session.get(Shop, g.proxy_shop_id)
        customer = _ensure_customer(session, shop.id)
        try:
            born = set_birthday(customer, body["birthday"], shop_local(shop, utcnow()).date(), by_merchant=False)
        except BirthdayError as exc:
            return jsonify(error=str(exc), field="birthday"), 400
        except BirthdayLocked as exc:
            return jsonify(error=str(exc), field="birthday"), 409
        return jsonify(birthday=born.isoformat())
