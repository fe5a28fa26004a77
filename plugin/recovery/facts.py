"""From a checkouts/* webhook body or a GraphQL ``abandonedCheckouts`` node to plain facts.

Money is read from ``*_set.shop_money`` when Shopify sends it; the classic payloads only
carry ``subtotal_price`` in ``presentment_currency`` next to the shop's ``currency``, so the
plain string counts as shop money only when both currencies agree. Decimal only, never float.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plugin.customers.profiles import normalize_email, parse_shopify_time

_TOKEN_IN_URL = re.compile(r"/checkouts/(?:ac/|cn/)?([A-Za-z0-9_-]+)/recover")


@dataclass(frozen=True)
class CheckoutFacts:
    token: str
    checkout_id: str | None
    email: str | None
    customer_shopify_id: str | None
    locale: str | None
    consent_state: str | None
    customer: dict | None  # the checkout's customer object (id, email, names), when Shopify sent one
    line_items: tuple[dict, ...] | None  # None = the source did not say (keep what we have)
    subtotal: Decimal | None
    currency: str | None
    presentment_subtotal: Decimal | None
    presentment_currency: str | None
    recovery_url: str | None
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None


class CheckoutPayloadError(ValueError):
    """The payload has no token we could key the checkout by."""


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, (bool, float)):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().rsplit("/", 1)[-1]
    return text if text.isdigit() else None


def _set(obj: dict, base: str, side: str) -> tuple[Decimal | None, str | None] | None:
    money_set = obj.get(f"{base}_set")
    inner = money_set.get(side) if isinstance(money_set, dict) else None
    if not isinstance(inner, dict):
        return None
    return _decimal(inner.get("amount")), inner.get("currency_code") or inner.get("currencyCode")


def _gql_set(obj: dict, key: str, side: str) -> tuple[Decimal | None, str | None] | None:
    inner = (obj.get(key) or {}).get(side) if isinstance(obj.get(key), dict) else None
    if not isinstance(inner, dict):
        return None
    return _decimal(inner.get("amount")), inner.get("currencyCode")


def _image(line: dict) -> str | None:
    image = line.get("image_url") or line.get("image")
    if isinstance(image, dict):
        image = image.get("src") or image.get("url")
    return image if isinstance(image, str) and image.startswith(("https://", "http://")) else None


def _webhook_line(line: dict, shop_currency: str | None) -> dict:
    found = _set(line, "price", "shop_money")
    price = found[0] if found else _decimal(line.get("price"))
    return {"title": str(line.get("title") or line.get("presentment_title") or "")[:255],
            "variant_title": line.get("variant_title") or None,
            "variant_id": _id(line.get("variant_id")),
            "quantity": int(line.get("quantity") or 0),
            "price": None if price is None else str(price),
            "currency": found[1] if found and found[1] else shop_currency,
            "image_url": _image(line)}


def _consent(payload: dict) -> str | None:
    """The checkout's own consent: ``buyer_accepts_marketing`` (its customer object carries none)."""
    return "SUBSCRIBED" if payload.get("buyer_accepts_marketing") is True else None


def token_from_url(url: Any) -> str | None:
    match = _TOKEN_IN_URL.search(url) if isinstance(url, str) else None
    return match.group(1) if match else None


def facts_from_webhook(payload: dict) -> CheckoutFacts:
    """Parse a checkouts/create or checkouts/update body (json.loads with parse_float=Decimal)."""
    token = payload.get("token")
    if not isinstance(token, str) or not token.strip():
        raise CheckoutPayloadError("checkout payload has no token")
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    shop_currency = payload.get("currency") if isinstance(payload.get("currency"), str) else None
    shown_currency = payload.get("presentment_currency") or shop_currency
    shop_side = _set(payload, "subtotal_price", "shop_money")
    shown_side = _set(payload, "subtotal_price", "presentment_money")
    plain = _decimal(payload.get("subtotal_price"))
    if shop_side:
        subtotal, currency = shop_side
    else:  # the plain string is presentment money: shop money only when both currencies agree
        subtotal, currency = (plain if shown_currency == shop_currency else None), shop_currency
    shown, shown_currency = shown_side if shown_side else (plain, shown_currency)
    lines = payload.get("line_items")
    lines = tuple(_webhook_line(li, currency) for li in lines if isinstance(li, dict)) if isinstance(lines, list) else None
    return CheckoutFacts(
        token=token.strip()[:255],
        checkout_id=_id(payload.get("id")),
        email=normalize_email(payload.get("email")) or normalize_email(payload.get("contact_email"))
        or normalize_email(customer.get("email")),
        customer_shopify_id=_id(customer.get("id")),
        locale=(payload.get("customer_locale") or None) and str(payload["customer_locale"])[:16],
        consent_state=_consent(payload),
        customer=customer or None,
        line_items=lines,
        subtotal=subtotal, currency=currency, presentment_subtotal=shown, presentment_currency=shown_currency,
        recovery_url=payload.get("abandoned_checkout_url") or None,
        created_at=parse_shopify_time(payload.get("created_at")),
        updated_at=parse_shopify_time(payload.get("updated_at")),
        completed_at=parse_shopify_time(payload.get("completed_at")),
    )


def _graphql_line(node: dict) -> dict:
    price = _gql_set(node, "originalUnitPriceSet", "shopMoney") or (None, None)
    image = node.get("image") if isinstance(node.get("image"), dict) else {}
    variant = node.get("variant") if isinstance(node.get("variant"), dict) else {}
    return {"title": str(node.get("title") or "")[:255], "variant_title": node.get("variantTitle") or None,
            "variant_id": _id(variant.get("id")), "quantity": int(node.get("quantity") or 0),
            "price": None if price[0] is None else str(price[0]), "currency": price[1],
            "image_url": _image({"image_url": image.get("url")})}


def facts_from_graphql(node: dict) -> CheckoutFacts:
    """An ``abandonedCheckouts`` node: no token field, so it comes from the recovery URL."""
    checkout_id = _id(node.get("id"))
    token = token_from_url(node.get("abandonedCheckoutUrl")) or (f"gid-{checkout_id}" if checkout_id else None)
    if token is None:
        raise CheckoutPayloadError("abandoned checkout node has neither a recovery URL nor an id")
    customer = node.get("customer") if isinstance(node.get("customer"), dict) else {}
    money_key = "subtotalPriceSet" if node.get("subtotalPriceSet") else "totalPriceSet"
    shop_side = _gql_set(node, money_key, "shopMoney") or (None, None)
    shown_side = _gql_set(node, money_key, "presentmentMoney") or (None, None)
    lines = (node.get("lineItems") or {}).get("nodes") if isinstance(node.get("lineItems"), dict) else None
    return CheckoutFacts(
        token=token, checkout_id=checkout_id, email=normalize_email(customer.get("email")),
        customer_shopify_id=_id(customer.get("id")), locale=customer.get("locale") or None, consent_state=None,
        customer=None,
        line_items=tuple(_graphql_line(n) for n in lines if isinstance(n, dict)) if isinstance(lines, list) else None,
        subtotal=shop_side[0], currency=shop_side[1], presentment_subtotal=shown_side[0],
        presentment_currency=shown_side[1], recovery_url=node.get("abandonedCheckoutUrl") or None,
        created_at=parse_shopify_time(node.get("createdAt")), updated_at=parse_shopify_time(node.get("updatedAt")),
        completed_at=parse_shopify_time(node.get("completedAt")),
    )
