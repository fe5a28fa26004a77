"""Stripe-style signatures: ``Embajador-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``
over ``"<t>.<raw body>"`` with the endpoint's secret (the scheme Stripe documents at
https://docs.stripe.com/webhooks#verify-manually: timestamp + "." + payload, HMAC-SHA256,
hex, compared in constant time; a tolerance on ``t`` stops replays)."""
from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Embajador-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret(random: bytes | None = None) -> str:
    """A fresh signing secret (32 random bytes)."""
    return SECRET_PREFIX + (random or secrets.token_bytes(32)).hex()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(header: str, secret: str, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of ``now``.
    Several ``v1`` values are accepted (one per secret while a secret is rotated)."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    candidates = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not candidates:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
