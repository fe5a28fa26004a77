"""Authenticate embedded-admin API calls by the App Bridge session token (a JWT).

Decoding is ShopifyAPI's ``session_token.decode_from_header`` (HS256 with the app secret,
``aud`` = API key, 10 s leeway, ``iss``/``dest`` hosts must match). Two checks are added
because the library lets them through: a token without ``exp`` (PyJWT only checks ``exp``
when present) and a ``dest`` that is not a ``*.myshopify.com`` store.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from shopify import session_token

from plugin.shopify.shop_domain import normalize_shop_domain


class InvalidSessionToken(Exception):
    """The request is not from a signed-in merchant of a store: answer 401."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"invalid session token: {reason}")


@dataclass(frozen=True)
class SessionClaims:
    """Who is calling: the store, the staff user and the App Bridge session."""

    shop: str
    user_id: str | None
    session_id: str | None
    token_id: str | None
    expires_at: int
    token: str = field(repr=False)  # the raw JWT, for token exchange; never log it


def decode_session_token(authorization_header: str | None, api_key: str, secret: str) -> SessionClaims:
    """Verify ``Authorization: Bearer <jwt>`` and return its claims, else raise ``InvalidSessionToken``."""
    if not authorization_header:
        raise InvalidSessionToken("missing Authorization header")
    if not api_key or not secret:
        raise InvalidSessionToken("app credentials are not configured")
    try:
        payload = session_token.decode_from_header(authorization_header, api_key, secret)
    except session_token.SessionTokenError as exc:
        raise InvalidSessionToken(_reason(exc)) from None
    if "exp" not in payload:
        raise InvalidSessionToken("token has no expiry")
    shop = normalize_shop_domain(str(payload.get("dest", "")))
    if shop is None:
        raise InvalidSessionToken("dest is not a myshopify.com store")
    sub = payload.get("sub")
    return SessionClaims(
        shop=shop,
        user_id=str(sub) if sub not in (None, "") else None,
        session_id=payload.get("sid"),
        token_id=payload.get("jti"),
        expires_at=int(payload["exp"]),
        token=authorization_header[len(session_token.PREFIX):],
    )


def _reason(exc: Exception) -> str:
    """A short, token-free reason (PyJWT messages never include the token itself)."""
    if isinstance(exc, session_token.TokenAuthenticationError):
        return "not a Bearer token"
    if isinstance(exc, session_token.InvalidIssuerError):
        return "issuer is not a Shopify store"
    if isinstance(exc, session_token.MismatchedHostsError):
        return "issuer and destination differ"
    return str(exc) or exc.__class__.__name__
