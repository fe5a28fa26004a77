"""Security headers on every HTML response (an ``after_request`` hook, so every page —
survey, unsubscribe, referral, the embedded admin and any page added later — gets them).

* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` everywhere (links in our
  pages carry signed tokens: never leak the URL to another site).
* A CSP. Pages outside the Shopify admin may be framed by nobody
  (``frame-ancestors 'none'``) and run no script. The embedded admin (blueprint ``admin``)
  may be framed only by the authenticated shop and the Shopify admin:
  ``frame-ancestors https://{shop} https://admin.shopify.com``, the shop taken from the
  launch URL whose ``hmac`` verifies; unverified requests get the admin origin only.
  https://shopify.dev/docs/apps/build/security/app-server/set-up-iframe-protection
"""
from __future__ import annotations

import time

from flask import Response, request

from plugin.app_state import state
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.signatures import verify_oauth_query

SHOPIFY_ADMIN = "https://admin.shopify.com"
EMBEDDED_BLUEPRINTS = frozenset({"admin"})
# A launch URL stays in the iframe while the merchant works; framing rights (not data) may
# outlive the 90 s signature window used for OAuth.
LAUNCH_URL_MAX_AGE = 3600
STANDALONE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
                     "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
EMBEDDED_POLICY = "frame-ancestors {ancestors}; base-uri 'self'; object-src 'none'"


def add_security_headers(response: Response) -> Response:
    """The after_request hook: HTML responses only (JSON APIs are not rendered by browsers)."""
    if response.mimetype != "text/html":
        return response
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.blueprint in EMBEDDED_BLUEPRINTS:
        response.headers["Content-Security-Policy"] = EMBEDDED_POLICY.format(ancestors=embedded_frame_ancestors())
    else:
        response.headers.setdefault("Content-Security-Policy", STANDALONE_POLICY)
    return response


def embedded_frame_ancestors() -> str:
    """``https://{shop} https://admin.shopify.com`` for a verified launch URL, else the admin only."""
    shop = normalize_shop_domain(request.args.get("shop", ""))
    secret = state().config.api_secret
    if shop and verify_oauth_query(request.args, secret, now=int(time.time()), max_age_seconds=LAUNCH_URL_MAX_AGE):
        return f"https://{shop} {SHOPIFY_ADMIN}"
    return SHOPIFY_ADMIN
