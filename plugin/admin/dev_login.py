"""The demo's way into the admin outside Shopify: a signed login link that only exists when
the ``demo`` command runs (or ``EMBAJADOR_MODE=demo`` is set explicitly) and only answers
requests made to and from 127.0.0.1. A deploy that merely forgot to set the mode has none.

The login sets a signed cookie; the page then gets short-lived session tokens from
``/dev/session-token`` (the same JWTs Shopify would mint), so every /api/ call is verified
exactly as in production.
"""
from __future__ import annotations

import time
import uuid

import jwt
from flask import Flask, abort, current_app, redirect, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from plugin.admin import bp
from plugin.app_state import state
from plugin.shopify.shop_domain import normalize_shop_domain

SALT = "embajador-dev-login"
LINK_MAX_AGE = 24 * 3600
TOKEN_SECONDS = 60
FLAG = "EMBAJADOR_DEV_LOGIN"


def enable_dev_login(app: Flask) -> None:
    """Called by the demo command (and create_app when EMBAJADOR_MODE=demo is explicit)."""
    if app.extensions["embajador"].config.mode == "demo":
        app.config[FLAG] = True


def dev_login_active() -> bool:
    """Enabled for this app *and* this request is local on both ends."""
    if not current_app.config.get(FLAG) or state().config.mode != "demo":
        return False
    host = (request.host or "").rsplit(":", 1)[0]
    return request.remote_addr == "127.0.0.1" and host == "127.0.0.1"


def dev_login_url(base_url: str, shop: str, secret_key: str) -> str:
    signed = URLSafeTimedSerializer(secret_key, salt=SALT).dumps({"shop": shop})
    return f"{base_url}/dev/login?token={signed}"


def dev_shop() -> str | None:
    """The shop the browser logged into through the dev login, if it is still allowed."""
    return session.get("dev_shop") if dev_login_active() else None


@bp.get("/dev/login")
def dev_login():
    if not dev_login_active():
        abort(404)
    try:
        data = URLSafeTimedSerializer(state().config.secret_key, salt=SALT).loads(
            request.args.get("token", ""), max_age=LINK_MAX_AGE)
    except BadSignature:
        abort(403)
    shop = normalize_shop_domain(str(data.get("shop", ""))) if isinstance(data, dict) else None
    if shop is None:
        abort(403)
    session["dev_shop"] = shop
    return redirect(f"/?shop={shop}&locale={request.args.get('locale', '')}", code=302)


@bp.get("/dev/session-token")
def dev_session_token():
    shop = dev_shop()
    if shop is None:
        abort(404)
    config = state().config
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": config.api_key, "sub": "1",
              "exp": now + TOKEN_SECONDS, "nbf": now - 1, "iat": now, "jti": str(uuid.uuid4()),
              "sid": uuid.uuid4().hex}
    token = jwt.encode(claims, config.api_secret, algorithm="HS256")
    return token, 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
