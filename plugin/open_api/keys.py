"""Per-shop API keys: ``emb_<prefix>_<secret>``, shown once, stored as prefix + SHA-256(secret).

The secret has 256 bits of entropy, so a plain SHA-256 is enough (no password hashing needed:
nothing to brute-force); the comparison is constant-time. The prefix is public and indexed,
so finding the key costs one lookup whatever the number of keys.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.models import ApiKey, Shop

KEY_PATTERN = re.compile(r"^emb_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$")
MAX_KEYS_PER_SHOP = 20


class ApiKeyError(ValueError):
    """A key request the merchant must change (blank name, too many keys)."""


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    prefix: str
    key: str  # the only time the whole key exists outside the caller's hands


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, shop: Shop, name: str, actor: str, now: datetime) -> NewKey:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiKeyError("name: 1 to 100 characters, e.g. the tool that will use the key")
    active = session.execute(ApiKey.for_shop(shop.id).where(ApiKey.revoked_at.is_(None))).scalars().all()
    if len(active) >= MAX_KEYS_PER_SHOP:
        raise ApiKeyError(f"name: at most {MAX_KEYS_PER_SHOP} active keys; revoke one first")
    prefix = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(shop_id=shop.id, prefix=prefix, secret_sha256=_digest(secret), name=name, created_by=actor[:64],
                 created_at=now)
    session.add(row)
    session.flush()
    return NewKey(row.id, name, prefix, f"emb_{prefix}_{secret}")


def revoke_key(session: Session, shop: Shop, key_id: int, now: datetime) -> bool:
    """Revoke one of the shop's keys (False when the shop has no such key)."""
    row = session.execute(ApiKey.for_shop(shop.id).where(ApiKey.id == key_id)).scalar_one_or_none()
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = now
    return True


def list_keys(session: Session, shop: Shop) -> list[dict]:
    rows = session.execute(ApiKey.for_shop(shop.id).order_by(ApiKey.id.desc())).scalars()
    return [{"id": r.id, "name": r.name, "prefix": f"emb_{r.prefix}_…", "created_at": r.created_at.isoformat(),
             "created_by": r.created_by, "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]


def authenticate(session: Session, authorization: str | None) -> ApiKey | None:
    """The active key named by ``Authorization: Bearer emb_…`` (None for anything else)."""
    scheme, _, token = (authorization or "").partition(" ")
    match = KEY_PATTERN.match(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        return None
    prefix, secret = match.groups()
    row = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    # Compare even when the prefix is unknown, so timing does not tell which prefixes exist.
    expected = row.secret_sha256 if row is not None else "0" * 64
    if not hmac.compare_digest(expected, _digest(secret)) or row is None or row.revoked_at is not None:
        return None
    return row
