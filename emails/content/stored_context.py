"""A flow's context as JSON, so an outbox row can be rendered again when it is sent.

Rich values keep their type through a one-key tag object (``{"$money": [...]}``); a
context holding anything else cannot be stored, and its row keeps the rendering made at
queue time (``encode_context`` returns None)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from emails.content.context import CartItem
from emails.content.formatting import Discount, Money


class NotStorable(TypeError):
    pass


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, Money):
        return {"$money": [str(value.amount), value.currency]}
    if isinstance(value, Discount):
        return {"$discount": [value.type, str(value.value), value.currency]}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, CartItem):
        return {"$cart": {"title": value.title, "quantity": value.quantity, "price": _encode(value.price),
                          "image_url": value.image_url, "variant_title": value.variant_title}}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        if any(str(k).startswith("$") for k in value):
            raise NotStorable("mapping keys may not start with $")
        return {str(k): _encode(v) for k, v in value.items()}
    raise NotStorable(f"cannot store a {type(value).__name__} in an email context")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, raw), = value.items()
        if tag == "$dec":
            return Decimal(raw)
        if tag == "$money":
            return Money(Decimal(raw[0]), raw[1])
        if tag == "$discount":
            return Discount(raw[0], Decimal(raw[1]), raw[2])
        if tag == "$datetime":
            return dt.datetime.fromisoformat(raw)
        if tag == "$date":
            return dt.date.fromisoformat(raw)
        if tag == "$cart":
            return CartItem(**{k: _decode(v) for k, v in raw.items()})
    return {k: _decode(v) for k, v in value.items()}


def encode_context(render_locale: str, context: Mapping[str, Any]) -> dict | None:
    """JSON for the outbox row, or None when a value has no stored form."""
    try:
        return {"render_locale": render_locale, "values": _encode(dict(context))}
    except NotStorable:
        return None


def decode_context(stored: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(render locale, the flow's context) as queue_email received it."""
    return stored["render_locale"], _decode(stored["values"])
