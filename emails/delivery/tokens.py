"""Signed, expiring tokens in email links (survey, unsubscribe): no login, no guessable ids.

The expiry travels inside the signed payload and is checked against the caller's ``now``
(not the wall clock), so ``tick --now`` and tests see the same rules as production."""
from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

SURVEY = "embajador-survey"
UNSUBSCRIBE = "embajador-unsubscribe"


class InvalidToken(Exception):
    """Tampered, for another purpose, or expired (``expired`` tells which)."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def make_token(secret: str, purpose: str, payload: dict, expires_at: datetime | None = None) -> str:
    body = dict(payload, exp=int(expires_at.timestamp())) if expires_at else dict(payload)
    return URLSafeSerializer(secret, salt=purpose).dumps(body)


def read_token(secret: str, purpose: str, token: str, now: datetime) -> dict:
    try:
        payload = URLSafeSerializer(secret, salt=purpose).loads(token)
    except BadSignature:
        raise InvalidToken(expired=False) from None
    if not isinstance(payload, dict):
        raise InvalidToken(expired=False)
    if "exp" in payload and now.timestamp() > payload["exp"]:
        raise InvalidToken(expired=True)
    return payload
