"""GET /auth/install and /auth/callback: Shopify's authorization-code grant, checked strictly.

Every check (HMAC, state, shop, timestamp) happens before anything is written; the
state nonce is single-use, bound to the shop, and expires after ten minutes.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, jsonify, redirect, request
from sqlalchemy import delete

from plugin.app_state import state
from plugin.logs import get_logger
from plugin.models import OAuthState, utcnow
from plugin.shopify.errors import ShopifyError
from plugin.shopify.oauth import authorize_url, exchange_code
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.signatures import verify_oauth_query
from plugin.shops.onboarding import complete_installation

bp = Blueprint("install", __name__)
log = get_logger("install")
STATE_TTL = timedelta(minutes=10)


@bp.get("/auth/install")
def install():
    config = state().config
    shop = normalize_shop_domain(request.args.get("shop", ""))
    if shop is None:
        return jsonify(error="shop must be a your-store.myshopify.com domain"), 400
    nonce = secrets.token_urlsafe(32)
    with state().db.transaction() as session:
        session.execute(delete(OAuthState).where(OAuthState.created_at < utcnow() - STATE_TTL))
        session.add(OAuthState(nonce=nonce, shop_domain=shop, created_at=utcnow()))
    return redirect(authorize_url(shop, config.api_key, config.scopes, f"{config.app_url}/auth/callback", nonce))


@bp.get("/auth/callback")
def callback():
    app_state = state()
    config = app_state.config
    now = utcnow()
    if not verify_oauth_query(list(request.args.items(multi=True)), config.api_secret, int(now.timestamp())):
        return jsonify(error="invalid or stale hmac"), 401
    shop = normalize_shop_domain(request.args.get("shop", ""))
    if shop is None:
        return jsonify(error="shop must be a your-store.myshopify.com domain"), 400
    code = request.args.get("code", "")
    if not code:
        return jsonify(error="code is missing"), 400
    if not _consume_state(app_state, request.args.get("state", ""), shop, now):
        return jsonify(error="invalid or expired state"), 401
    try:
        tokens = exchange_code(shop, code, config.api_key, config.api_secret, now=now,
                               admin_origin=config.admin_origin)
    except ShopifyError as exc:
        log.warning("code exchange failed: %s", type(exc).__name__, extra={"shop": shop})
        return jsonify(error="Shopify refused the authorization code; start the install again"), 400
    try:
        complete_installation(app_state, shop, tokens, now)
    except ShopifyError as exc:
        log.warning("post-install setup failed: %s", type(exc).__name__, extra={"shop": shop})
        return jsonify(error="installed, but Shopify setup failed; open the app again to retry"), 502
    return redirect(f"https://{shop}/admin/apps/{config.api_key}")


def _consume_state(app_state, nonce: str, shop: str, now) -> bool:
    """Delete-returning makes the nonce single-use even under a double-click race."""
    if not nonce:
        return False
    with app_state.db.transaction() as session:
        deleted = session.execute(
            delete(OAuthState).where(OAuthState.nonce == nonce, OAuthState.shop_domain == shop,
                                     OAuthState.created_at >= now - STATE_TTL).returning(OAuthState.nonce)
        ).scalar_one_or_none()
    return deleted is not None
