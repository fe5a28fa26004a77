"""Shopify global ids (``gid://shopify/Customer/123``) <-> numeric REST/webhook ids.

Ids stay strings end to end: they exceed 2**53, so a float (or JavaScript) would round them.
"""
from __future__ import annotations

import re

_GID = re.compile(r"gid://shopify/([A-Za-z]+)/(\d+)(?:\?.*)?")


def gid(resource: str, numeric_id: int | str) -> str:
    """``gid("Customer", 123)`` -> ``"gid://shopify/Customer/123"``; refuses non-integers."""
    text = str(numeric_id).strip()
    if isinstance(numeric_id, bool) or not text.isdigit() or not re.fullmatch(r"[A-Za-z]+", resource):
        raise ValueError(f"not a Shopify {resource} id: {numeric_id!r}")
    return f"gid://shopify/{resource}/{int(text)}"


def customer_gid(customer_id: int | str) -> str:
    """The Customer gid for a webhook's ``customer.id`` (or a gid, returned unchanged)."""
    if isinstance(customer_id, str) and customer_id.startswith("gid://"):
        resource, _ = parse_gid(customer_id)
        if resource != "Customer":
            raise ValueError(f"not a Customer gid: {customer_id!r}")
        return customer_id
    return gid("Customer", customer_id)


def parse_gid(value: str) -> tuple[str, str]:
    """``"gid://shopify/Order/42"`` -> ``("Order", "42")``; ``ValueError`` otherwise."""
    match = _GID.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a Shopify gid: {value!r}")
    return match.group(1), match.group(2)
