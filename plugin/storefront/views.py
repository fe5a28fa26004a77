"""``/proxy/...``: Shopify forwards storefront requests here, signed with the app secret.

The signature covers the raw query; the shop comes from its signed ``shop`` param and the
shopper ONLY from ``logged_in_customer_id`` (empty for guests), never from the body.
Ids go out as strings (they exceed 2**53).
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from sqlalchemy import bindparam, select

from plugin.app_state import state
from plugin.db import insert_ignoring_conflicts
from plugin.loyalty.birthdays import BirthdayError, BirthdayLocked, set_birthday
from plugin.loyalty.redemption import ShopifyRefused, UnknownReward, redeem_reward
from plugin.loyalty.rules.ledger import InsufficientPoints
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import shop_local
from plugin.models import Customer, Shop, utcnow
from plugin.shopify.signatures import signed_app_proxy_params
from plugin.shops.tokens import find_shop
from plugin.storefront.facts_cache import EXTENSION_KEY as FACTS_CACHE_KEY
from plugin.storefront.facts_cache import FactsCache
from plugin.storefront.payload import customer_payload, explainer_payload
from plugin.storefront.rate_limit import EXTENSION_KEY, RedeemLimiter
from plugin.storefront.reads import known_shopper_facts
from plugin.web.json_body import json_object

bp = Blueprint("storefront", __name__, url_prefix="/proxy")


@bp.record_once
def _create_redeem_limiter(setup_state) -> None:
    app = setup_state.app
    config = app.extensions["embajador"].config
    app.extensions[EXTENSION_KEY] = RedeemLimiter.from_config(config)
    app.extensions[FACTS_CACHE_KEY] = FactsCache(config.proxy_facts_cache_size)


@bp.before_request
def verify_signature():
    app_state = state()
    params = signed_app_proxy_params(request.query_string, app_state.config.api_secret, now=int(time.time()))
    if params is None:
        return jsonify(error="invalid or expired App Proxy signature, or a repeated shop, timestamp, "
                             "logged_in_customer_id or path_prefix"), 401
    with app_state.db.read() as session:
        shop = find_shop(session, params.get("shop", ""))
    if shop is None or not shop.installed:
        return jsonify(error="this shop has not installed Embajador"), 401
    g.proxy_shop_id = shop.id
    g.proxy_shop = shop  # loaded once per request: views attach it with merge(load=False)
    g.proxy_customer_shopify_id = (params.get("logged_in_customer_id") or "").strip() or None


def _customer(session, shop_id: int) -> Customer | None:
    shopify_id = g.proxy_customer_shopify_id
    if shopify_id is None:
        return None
    if not shopify_id.isdigit():
        abort(400)
    return session.execute(_CUSTOMER, {"shop_id": shop_id, "shopify_id": shopify_id}).scalar_one_or_none()


# Built once: every widget request looks the shopper up (bench/RESULTS.md, App Proxy read).
_CUSTOMER = select(Customer).where(Customer.shop_id == bindparam("shop_id"),
                                   Customer.shopify_id == bindparam("shopify_id"))


def _ensure_customer(session, shop_id: int) -> Customer | None:
    """A logged-in shopper we have not heard of yet (webhook still on its way) starts at zero.

    INSERT … ON CONFLICT DO NOTHING: parallel first visits (the widget, two tabs) create one
    row and all read it, instead of all but one failing on the unique constraint."""
    customer = _customer(session, shop_id)
    if customer is None and g.proxy_customer_shopify_id:
        insert_ignoring_conflicts(session, Customer, {"shop_id": shop_id, "shopify_id": g.proxy_customer_shopify_id},
                                  ["shop_id", "shopify_id"])
        customer = _customer(session, shop_id)
    return customer


@bp.get("/customer")
def customer_status_view():
    # Every storefront page view asks this. The usual case (a known shopper with a referral
    # code) writes nothing, so it is answered on the autocommit engine: no BEGIN/COMMIT round
    # trips. A first visit (customer row or referral code to create) takes the transaction below.
    shopify_id = g.proxy_customer_shopify_id
    if shopify_id is not None:
        if not shopify_id.isdigit():
            abort(400)
        with state().db.read() as session:
            shop = session.merge(g.proxy_shop, load=False)
            program, now = shop_program(shop), utcnow()
            # The customer row, tier metrics, next release and referral counts in one statement;
            # on a repeat visit the ledger's part comes from the process's cache while it holds.
            facts = known_shopper_facts(session, current_app.extensions[FACTS_CACHE_KEY], shop.id, shopify_id,
                                        program.tier_period, now)
            if facts is not None and facts.customer.referral_code:
                response = jsonify(customer_payload(session, shop, facts.customer, now, state().config.app_url,
                                                    facts, program))
                response.headers["Cache-Control"] = "private, no-store"
                return response
    with state().db.transaction() as session:
        # The shop verify_signature just read, attached without a second SELECT.
        # https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.merge (load=False)
        shop = session.merge(g.proxy_shop, load=False)
        customer = _customer(session, shop.id)
        if g.proxy_customer_shopify_id is None:
            return _shared_by_guests(jsonify(explainer_payload(shop)))
        if customer is None:
            customer = _ensure_customer(session, shop.id)
        response = jsonify(customer_payload(session, shop, customer, utcnow(), state().config.app_url))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _shared_by_guests(response: Response) -> Response:
    """The same URL serves members (Shopify adds ``logged_in_customer_id`` after sign-in), so a
    guest answer may be kept but must be revalidated: ``no-cache`` with an ETag (304 when unchanged)."""
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)  # in place: 304 without a body when the ETag matches
    return response


@bp.post("/redeem")
def redeem_view():
    if g.proxy_customer_shopify_id is None:
        return jsonify(error="log in to your account to redeem points"), 401
    reward_id = json_object().get("reward_id")
    if not isinstance(reward_id, str) or not reward_id:
        return jsonify(error="reward_id: required"), 400
    decision = current_app.extensions[EXTENSION_KEY].attempt(g.proxy_shop_id, g.proxy_customer_shopify_id)
    if not decision.allowed:
        response = jsonify(error="too many redemption attempts; try again in a moment",
                           retry_after=decision.retry_after)
        response.headers["Retry-After"] = str(decision.retry_after)
        return response, 429
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
