"""Helpers for the loyalty unit tests: Shopify's own payloads, read without floats."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
WEBHOOKS = REPO.parent / "shared" / "fixtures" / "shopify" / "webhooks"


def webhook(name: str) -> dict:
    """A webhook body parsed the way the app parses it (amounts and ids exact)."""
    return json.loads((WEBHOOKS / name).read_text("utf-8"), parse_float=Decimal)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
