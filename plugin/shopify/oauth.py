"""Getting and renewing a shop's offline access token.

Three grants, all POSTed to ``/admin/oauth/access_token`` (JSON, as Shopify's own
libraries do), all asking for an EXPIRING offline token (``expiring=1``: 60 min access
token plus refresh token), which public apps must use by 2027-01-01:

* authorization code (install through ``/auth/callback``),
* token exchange of an App Bridge session token (embedded admin),
* ``refresh_token`` (before or after the access token expires; the refresh token rotates).

ShopifyAPI's ``Session.request_token`` is not used: it ignores ``expires_in`` and
``refresh_token``, hard-codes ``https://`` and has no timeout.
``admin_origin`` (``SHOPIFY_ADMIN_ORIGIN``) replaces ``https://{shop}`` for these
server-to-server calls only; the browser always goes to the real shop.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from plugin.shopify.errors import ShopifyHTTPError, ShopifyOAuthError, excerpt
from plugin.shopify.shop_domain import normalize_shop_domain

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 20)
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"


@dataclass(frozen=True)
class TokenSet:
    """What to store (encrypted) for a shop after any grant."""

    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime | None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None

    def expires_within(self, seconds: float, now: datetime) -> bool:
        """True when the access token is gone or will be within ``seconds`` of ``now``."""
        return self.expires_at is not None and self.expires_at - timedelta(seconds=seconds) <= now


def authorize_url(shop: str, api_key: str, scopes: str | Iterable[str], redirect_uri: str,
                  state: str) -> str:
    """Where to send the merchant's browser to grant offline access (always the real shop)."""
    domain = _shop_or_raise(shop)
    scope = scopes if isinstance(scopes, str) else ",".join(s.strip() for s in scopes if s.strip())
    query = urlencode({"client_id": api_key, "scope": scope, "redirect_uri": redirect_uri,
                       "state": state})
    return f"https://{domain}/admin/oauth/authorize?{query}"


def exchange_code(shop: str, code: str, api_key: str, secret: str, *, now: datetime,
                  admin_origin: str | None = None, session: requests.Session | None = None,
                  timeout: Any = DEFAULT_TIMEOUT) -> TokenSet:
    """Trade the callback's ``code`` for an expiring offline token (verify the callback first)."""
    body = {"client_id": api_key, "client_secret": secret, "code": code, "expiring": "1"}
    return _request_token(shop, body, now=now, admin_origin=admin_origin, session=session,
                          timeout=timeout, grant="authorization_code")


def exchange_session_token(shop: str, session_jwt: str, api_key: str, secret: str, *,
                           now: datetime, admin_origin: str | None = None,
                           session: requests.Session | None = None,
                           timeout: Any = DEFAULT_TIMEOUT) -> TokenSet:
    """Trade a verified App Bridge session token for an expiring offline token."""
    body = {
        "client_id": api_key,
        "client_secret": secret,
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": session_jwt,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": OFFLINE_TOKEN_TYPE,
        "expiring": "1",
    }
    return _request_token(shop, body, now=now, admin_origin=admin_origin, session=session,
                          timeout=timeout, grant="token_exchange")


def refresh_access_token(shop: str, refresh_token: str, api_key: str, secret: str, *,
                         now: datetime, admin_origin: str | None = None,
                         session: requests.Session | None = None,
                         timeout: Any = DEFAULT_TIMEOUT) -> TokenSet:
    """Get a new access token (and a new refresh token: store both) from a refresh token."""
    body = {"client_id": api_key, "client_secret": secret, "grant_type": "refresh_token",
            "refresh_token": refresh_token}
    return _request_token(shop, body, now=now, admin_origin=admin_origin, session=session,
                          timeout=timeout, grant="refresh_token")


def _request_token(shop: str, body: Mapping[str, str], *, now: datetime, admin_origin: str | None,
                   session: requests.Session | None, timeout: Any, grant: str) -> TokenSet:
    domain = _shop_or_raise(shop)
    origin = (admin_origin or f"https://{domain}").rstrip("/")
    secrets = [v for k, v in body.items() if k in ("client_secret", "code", "subject_token",
                                                   "refresh_token")]
    http = session or requests.Session()
    try:
        response = http.post(f"{origin}/admin/oauth/access_token", json=dict(body),
                             headers={"Accept": "application/json"}, timeout=timeout,
                             allow_redirects=False)
    except requests.RequestException as exc:
        raise ShopifyHTTPError(0, f"{grant}: {exc.__class__.__name__}", shop=domain) from None
    log.info("shopify oauth shop=%s grant=%s status=%s", domain, grant, response.status_code)
    payload = _json_or_none(response)
    if response.status_code != 200 or not payload or not payload.get("access_token"):
        error = (payload or {}).get("error")
        description = (payload or {}).get("error_description") or excerpt(response.text,
                                                                           secrets=secrets)
        raise ShopifyOAuthError(response.status_code, error and str(error),
                                excerpt(str(description), secrets=secrets), shop=domain)
    return _token_set(payload, now)


def _token_set(payload: Mapping[str, Any], now: datetime) -> TokenSet:
    return TokenSet(
        access_token=str(payload["access_token"]),
        scope=str(payload.get("scope", "")),
        expires_at=_after(now, payload.get("expires_in")),
        refresh_token=payload.get("refresh_token") or None,
        refresh_token_expires_at=_after(now, payload.get("refresh_token_expires_in")),
    )


def _after(now: datetime, seconds: Any) -> datetime | None:
    if seconds in (None, ""):
        return None
    return now + timedelta(seconds=int(seconds))


def _json_or_none(response: requests.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _shop_or_raise(shop: str) -> str:
    domain = normalize_shop_domain(shop)
    if domain is None:
        raise ValueError(f"not a myshopify.com shop domain: {shop!r}")
    return domain
