"""Installed shops: storing encrypted tokens, refreshing expiring ones, the Admin client.

Shopify's expiring offline tokens last ~60 min and rotate the refresh token on every
refresh, so a refresh runs in its own transaction under a row lock: two workers never
spend the same refresh token and a rolled-back caller never loses the new one.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from plugin.db import lock_row
from plugin.logs import get_logger
from plugin.models import Shop, utcnow
from plugin.shopify.errors import ShopifyOAuthError
from plugin.shopify.graphql import AdminClient
from plugin.shopify.oauth import TokenSet, refresh_access_token

log = get_logger("shops")

REFRESH_MARGIN = timedelta(minutes=5)


class ShopNotInstalled(Exception):
    """The shop has no usable access token (uninstalled, or never installed)."""


class ShopNeedsReauth(ShopNotInstalled):
    """Shopify refused to refresh the shop's token; the merchant's next admin visit recovers it."""

    def __init__(self) -> None:
        super().__init__("the shop's access token could not be refreshed; the merchant must open the app "
                         "in the Shopify admin to re-authorise it")


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.execute(_SHOP_BY_DOMAIN, {"domain": domain}).scalar_one_or_none()


# Built once: every App Proxy request looks its shop up, and building a select() and its cache
# key per call cost about as much CPU as running it (bench/RESULTS.md, App Proxy read).
_SHOP_BY_DOMAIN = select(Shop).where(Shop.domain == bindparam("domain"))


def store_tokens(shop: Shop, cipher, tokens: TokenSet) -> None:
    shop.access_token_enc = cipher.encrypt(tokens.access_token)
    shop.access_token_expires_at = tokens.expires_at
    shop.refresh_token_enc = cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
    shop.refresh_token_expires_at = tokens.refresh_token_expires_at
    shop.needs_reauth_at = None
    if tokens.scope:
        shop.scopes = tokens.scope


def install_shop(session: Session, cipher, domain: str, tokens: TokenSet, now: datetime) -> Shop:
    """Create the shop or bring a returning one back (same row, same balances)."""
    shop = find_shop(session, domain)
    if shop is None:
        shop = Shop(domain=domain, installed_at=now, settings={})
        session.add(shop)
    elif not shop.installed:
        shop.installed_at = now
    shop.installed = True
    shop.uninstalled_at = None
    store_tokens(shop, cipher, tokens)
    session.flush()
    return shop


class ShopTokens:
    """Token provider for AdminClient: decrypts, refreshes ahead of expiry, refreshes on 401."""

    def __init__(self, app_state, shop_id: int):
        self.app_state = app_state
        self.shop_id = shop_id

    def access_token(self) -> str:
        with self.app_state.db.sessionmaker() as session:
            shop = session.get(Shop, self.shop_id)
            self._check_installed(shop)
            if not _expiring(shop, utcnow()):
                return self.app_state.cipher.decrypt(shop.access_token_enc)
        return self._refresh(force=False)

    def force_refresh(self) -> str:
        return self._refresh(force=True)

    def _refresh(self, force: bool) -> str:
        """Refresh under the row lock. A refusal (4xx) or an expired refresh token marks the shop
        as needing re-auth — committed, so no caller retries it in a loop — and raises."""
        config, cipher = self.app_state.config, self.app_state.cipher
        refused: Exception | None = None
        with self.app_state.db.transaction() as session:
            shop = lock_row(session, Shop, self.shop_id)
            self._check_installed(shop)
            now = utcnow()
            if not ((force or _expiring(shop, now)) and shop.refresh_token_enc):
                return cipher.decrypt(shop.access_token_enc)
            if shop.refresh_token_expires_at is not None and shop.refresh_token_expires_at <= now:
                _mark_needs_reauth(shop, now, "refresh token expired")
            else:
                try:
                    tokens = refresh_access_token(shop.domain, cipher.decrypt(shop.refresh_token_enc),
                                                  config.api_key, config.api_secret, now=now,
                                                  admin_origin=config.admin_origin)
                except ShopifyOAuthError as exc:
                    if exc.status == 0 or exc.status >= 500:
                        raise  # an outage, not a refusal: the next call tries again
                    _mark_needs_reauth(shop, now, f"refresh refused (HTTP {exc.status})")
                    refused = exc
                else:
                    store_tokens(shop, cipher, tokens)
                    return cipher.decrypt(shop.access_token_enc)
        raise ShopNeedsReauth() from refused

    @staticmethod
    def _check_installed(shop: Shop | None) -> None:
        if shop is None or not shop.installed or shop.access_token_enc is None:
            raise ShopNotInstalled("shop is not installed; reinstall the app from the Shopify admin")
        if shop.needs_reauth_at is not None:
            raise ShopNeedsReauth()


def _mark_needs_reauth(shop: Shop, now: datetime, why: str) -> None:
    """Committed with the caller's transaction; every later call fails fast until token exchange."""
    shop.needs_reauth_at = now
    log.warning("shop needs re-authorisation: %s", why, extra={"shop": shop.domain})


def _expiring(shop: Shop, now: datetime) -> bool:
    return shop.access_token_expires_at is not None and shop.access_token_expires_at - REFRESH_MARGIN <= now


def admin_client(app_state, shop: Shop, **kwargs) -> AdminClient:
    """The one way to talk to a shop's Admin API."""
    tokens = ShopTokens(app_state, shop.id)
    config = app_state.config
    return AdminClient(shop.domain, config.api_version, tokens.access_token,
                       admin_origin=config.admin_origin, on_unauthorized=tokens.force_refresh, **kwargs)
