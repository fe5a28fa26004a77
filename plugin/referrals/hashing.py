"""Keyed digests of what the fraud checks compare (IP, user agent, address, name).

HMAC-SHA256 with SECRET_KEY: equal inputs give equal digests inside one deployment, but a
leaked table cannot be reversed by hashing every IPv4 address.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

FUZZY_PURPOSES = ("address", "name")  # typed by people: case, accents and spacing vary


def keyed_hash(secret: str, purpose: str, value: str | None) -> str | None:
    """Hex HMAC of ``value`` for ``purpose`` ("ip", "ua", "address", "name"); None for blanks."""
    if value is None or not str(value).strip():
        return None
    text = _canonical(str(value)) if purpose in FUZZY_PURPOSES else str(value).strip()
    message = f"{purpose}\n{text}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _canonical(text: str) -> str:
    """Case, accents, punctuation and spacing do not make an address or name different."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def address_text(address: dict | None) -> str | None:
    """The parts of a Shopify address that identify a place (not the recipient's name)."""
    if not isinstance(address, dict):
        return None
    parts = [address.get(k) for k in ("address1", "address2", "city", "zip", "country_code")]
    text = " ".join(str(p) for p in parts if p)
    return text if address.get("address1") else None


def full_name(first: str | None, last: str | None) -> str | None:
    name = " ".join(p.strip() for p in (first or "", last or "") if p and p.strip())
    return name or None
