"""``Idempotency-Key`` on every ``/v1`` write: the same key gets the same answer, once posted.

The record is claimed with ``INSERT … ON CONFLICT DO NOTHING`` in the transaction that does
the work: a concurrent request with the same key waits on the unique index until the first
commits, then finds its answer (or, if the first rolled back, does the work itself). A key
reused for a different request is refused (422), as Stripe does. Ledger keys are derived
from the idempotency key too, so even a lost record could not post points twice.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.models import ApiIdempotency

MAX_KEY = 255
# How long a key is remembered. Stripe keeps 24 h; we keep 30 days so a retry queue that
# stalled for a while still cannot redeem twice (adjust and award are also keyed in the ledger).
RETENTION = timedelta(days=30)


class BadIdempotencyKey(ValueError):
    pass


@dataclass(frozen=True)
class Claim:
    """Either ours to fill (``record`` new) or an earlier answer (``replay``)."""

    record: ApiIdempotency
    new: bool
    mismatch: bool = False


def check_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not key:
        raise BadIdempotencyKey("Idempotency-Key: required on every write (e.g. a UUID you keep for retries)")
    if len(key) > MAX_KEY or not key.isprintable():
        raise BadIdempotencyKey(f"Idempotency-Key: at most {MAX_KEY} printable characters")
    return key


def key_digest(key: str) -> str:
    """A short, ledger-safe stand-in for the caller's key (ledger keys take no free text)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def fingerprint(operation: str, body: dict[str, Any]) -> str:
    canonical = json.dumps({"op": operation, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, shop_id: int, api_key_id: int, key: str, operation: str, body: dict[str, Any],
          now: datetime) -> Claim:
    """Claim ``key`` for this request (waits for a concurrent holder of the same key)."""
    request_print = fingerprint(operation, body)
    new_id = insert_ignoring_conflicts(session, ApiIdempotency, dict(
        shop_id=shop_id, key=key, api_key_id=api_key_id, operation=operation[:200], fingerprint=request_print,
        created_at=now), ["shop_id", "key"])
    if new_id is not None:
        return Claim(session.get(ApiIdempotency, new_id), True)
    record = session.execute(ApiIdempotency.for_shop(shop_id).where(ApiIdempotency.key == key)).scalar_one()
    return Claim(record, False, mismatch=record.fingerprint != request_print)


def remember(record: ApiIdempotency, status_code: int, response: dict[str, Any]) -> None:
    record.status_code, record.response = status_code, response


def purge_old_records(app_state, now: datetime) -> dict:
    """Tick task: forget idempotency keys older than RETENTION."""
    with app_state.db.transaction() as session:
        result = session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < now - RETENTION))
    return {"purged": result.rowcount}
