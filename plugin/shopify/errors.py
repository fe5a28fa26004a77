"""Typed failures of every call to Shopify, so callers branch on type, not on strings.

Messages name what went wrong (status, error code, field path) and never carry an
access token, refresh token or client secret: they end up in logs and job failures.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_EXCERPT_CHARS = 300


def excerpt(body: str | bytes | None, *, secrets: Iterable[str | None] = ()) -> str:
    """Shorten a response body for an error message, masking any secret it echoes."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


class ShopifyError(Exception):
    """Base class: anything that went wrong talking to Shopify."""


class ShopifyHTTPError(ShopifyError):
    """Shopify answered with an HTTP status we cannot use (or never answered: status 0)."""

    def __init__(self, status: int, body_excerpt: str = "", *, shop: str | None = None):
        self.status = status
        self.body_excerpt = body_excerpt
        self.shop = shop
        where = f" from {shop}" if shop else ""
        detail = f": {body_excerpt}" if body_excerpt else ""
        super().__init__(f"Shopify HTTP {status}{where}{detail}")


class ShopifyUnauthorized(ShopifyHTTPError):
    """401: the access token is invalid, expired or revoked (app uninstalled)."""

    def __init__(self, body_excerpt: str = "", *, shop: str | None = None):
        super().__init__(401, body_excerpt, shop=shop)


class ShopifyOAuthError(ShopifyHTTPError):
    """The OAuth token endpoint refused a grant (e.g. ``invalid_grant``: re-install needed)."""

    def __init__(self, status: int, error: str | None, description: str = "", *,
                 shop: str | None = None):
        self.error = error
        super().__init__(status, f"{error or 'error'}: {description}".rstrip(": "), shop=shop)


class ShopifyThrottled(ShopifyError):
    """Still rate-limited after every retry; the caller should re-enqueue later."""

    def __init__(self, shop: str | None = None, retry_after: float | None = None):
        self.shop = shop
        self.retry_after = retry_after
        hint = f"; retry in {retry_after:.1f}s" if retry_after is not None else ""
        super().__init__(f"Shopify throttled {shop or 'the request'}{hint}")


class ShopifyGraphQLError(ShopifyError):
    """Top-level GraphQL ``errors`` (bad query, ACCESS_DENIED, unknown field...)."""

    def __init__(self, errors: list[Mapping[str, Any]]):
        self.errors = list(errors)
        super().__init__("Shopify GraphQL error: " + "; ".join(map(_describe_error, self.errors)))

    @property
    def codes(self) -> set[str]:
        """The ``extensions.code`` values, e.g. ``{"ACCESS_DENIED"}``."""
        return {str((e.get("extensions") or {}).get("code")) for e in self.errors
                if (e.get("extensions") or {}).get("code")}


class ShopifyQueryTooCostly(ShopifyGraphQLError):
    """``MAX_COST_EXCEEDED``: the query asks for more than one request may cost (1,000 points).

    A programming error, not an outage: retrying never helps, the query must ask for less
    (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits)."""

    def __init__(self, errors: list[Mapping[str, Any]], *, operation: str, requested: Any = None):
        super().__init__(errors)
        self.operation = operation
        self.requested = requested
        cost = f" (requested cost {requested})" if requested is not None else ""
        self.args = (f"Shopify refused query {operation!r}: MAX_COST_EXCEEDED{cost}; a single query may "
                     "cost at most 1000 — ask for fewer items per page or paginate nested connections",)

    def __str__(self) -> str:
        return str(self.args[0])


class ShopifyUserError(ShopifyError):
    """A mutation ran but refused the input: ``userErrors`` with field paths."""

    def __init__(self, user_errors: list[Mapping[str, Any]], *, operation: str | None = None):
        self.user_errors = list(user_errors)
        self.operation = operation
        prefix = f"{operation} rejected" if operation else "Shopify rejected the input"
        super().__init__(f"{prefix}: " + "; ".join(map(_describe_user_error, self.user_errors)))

    @property
    def codes(self) -> set[str]:
        """The ``code`` values Shopify sent (``TAKEN``, ``INVALID``...), when it sent any."""
        return {str(e["code"]) for e in self.user_errors if e.get("code")}


def _describe_error(error: Mapping[str, Any]) -> str:
    code = (error.get("extensions") or {}).get("code")
    message = str(error.get("message", "unknown error"))
    return f"{message} ({code})" if code else message


def _describe_user_error(error: Mapping[str, Any]) -> str:
    field = error.get("field") or []
    path = ".".join(str(part) for part in field) if isinstance(field, list) else str(field)
    message = str(error.get("message", "invalid"))
    return f"{path}: {message}" if path else message
