"""The one way in to Shopify: OAuth, session tokens, signatures and the Admin GraphQL client.

No Flask, no SQLAlchemy: web, worker and CLI pass configuration values in.
"""
from plugin.shopify.abandoned_checkouts import fetch_abandoned_checkouts
from plugin.shopify.bulk_operations import BulkOperation, bulk_operation_status, iter_bulk_results, start_bulk_query
from plugin.shopify.discounts import DiscountResult, create_discount_code
from plugin.shopify.errors import (
                     ShopifyError,
                     ShopifyGraphQLError,
                     ShopifyHTTPError,
                     ShopifyOAuthError,
                     ShopifyThrottled,
                     ShopifyUnauthorized,
                     ShopifyUserError,
)
from plugin.shopify.gids import customer_gid, gid, parse_gid
from plugin.shopify.graphql import AdminClient
from plugin.shopify.metafields import MetafieldInput, set_customer_metafields
from plugin.shopify.oauth import TokenSet, authorize_url, exchange_code, exchange_session_token, refresh_access_token
from plugin.shopify.session_tokens import InvalidSessionToken, SessionClaims, decode_session_token
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shopify.shop_profile import ShopProfile, fetch_shop_profile
from plugin.shopify.signatures import (
                     sign_app_proxy,
                     sign_oauth_query,
                     sign_webhook,
                     verify_app_proxy,
                     verify_oauth_query,
                     verify_webhook,
)
from plugin.shopify.webhook_subscriptions import register_webhooks, topic_enum

__all__ = [
    "AdminClient", "BulkOperation", "DiscountResult", "InvalidSessionToken", "MetafieldInput",
    "SessionClaims", "ShopProfile", "ShopifyError", "ShopifyGraphQLError", "ShopifyHTTPError",
    "ShopifyOAuthError", "ShopifyThrottled", "ShopifyUnauthorized", "ShopifyUserError", "TokenSet",
    "authorize_url", "bulk_operation_status", "create_discount_code", "customer_gid",
    "decode_session_token", "exchange_code", "exchange_session_token", "fetch_abandoned_checkouts",
    "fetch_shop_profile", "gid", "iter_bulk_results", "normalize_shop_domain", "parse_gid",
    "refresh_access_token", "register_webhooks", "set_customer_metafields", "sign_app_proxy",
    "sign_oauth_query", "sign_webhook", "start_bulk_query", "topic_enum", "verify_app_proxy",
    "verify_oauth_query", "verify_webhook",
]
