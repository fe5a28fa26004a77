"""Session-token authentication for admin API calls, with token exchange for new installs.

With Shopify managed installation there is no OAuth redirect: the first API call carries
a session token for a shop we have no access token for, and we exchange it (expiring
offline token) on the spot.
"""
from __future__ import annotations

from functools import wraps

from flask import g, jsonify
from flask import request as flask_request

from plugin.app_state import state
from plugin.logs import get_logger
from plugin.models import Shop, utcnow
from plugin.shopify.errors import ShopifyError
from plugin.shopify.oauth import exchange_session_token
from plugin.shopify.session_tokens import InvalidSessionToken, decode_session_token
from plugin.shops.onboarding import complete_installation
from plugin.shops.tokens import find_shop

log = get_logger("admin")


def _unauthorized(reason: str):
    response = jsonify(error=f"session token rejected: {reason}")
    response.status_code = 401
    # App Bridge fetches a fresh token and retries once when it sees this header.
    response.headers["X-Shopify-Retry-Invalid-Session-Request"] = "1"
    return response


def require_session_token(view):
    """Decorator: sets ``g.shop_id`` and ``g.staff_user_id`` from a verified session token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        app_state = state()
        config = app_state.config
        try:
            claims = decode_session_token(flask_request.headers.get("Authorization"), config.api_key, config.api_secret)
        except InvalidSessionToken as exc:
            return _unauthorized(exc.reason)
        shop_id = _installed_shop_id(app_state, claims)
        if shop_id is None:
            return jsonify(error="could not obtain an access token for this shop; reload the app"), 502
        g.shop_id, g.staff_user_id = shop_id, claims.user_id
        return view(*args, **kwargs)

    return wrapper


def _installed_shop_id(app_state, claims) -> int | None:
    """The shop's id; exchanges the session token when we hold no usable offline token
    (a new managed install, or a shop whose token refresh Shopify refused)."""
    with app_state.db.transaction() as session:
        shop = find_shop(session, claims.shop)
        usable = shop is not None and shop.installed and shop.access_token_enc is not None
        if usable and shop.needs_reauth_at is None:
            return shop.id
        # A shop that only needs re-auth still reaches the admin (which shows it) if the exchange fails.
        fallback = shop.id if usable else None
    config = app_state.config
    try:
        tokens = exchange_session_token(claims.shop, claims.token, config.api_key, config.api_secret,
                                        now=utcnow(), admin_origin=config.admin_origin)
        shop = complete_installation(app_state, claims.shop, tokens, utcnow())
    except ShopifyError as exc:
        log.warning("token exchange failed: %s", type(exc).__name__, extra={"shop": claims.shop})
        return fallback
    return shop.id


def current_shop(session) -> Shop:
    """The authenticated shop, loaded in the caller's session."""
    return session.get(Shop, g.shop_id)
