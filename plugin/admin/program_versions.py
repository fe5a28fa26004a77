"""Saving the program document with history: every save is a numbered version; a rollback
saves an old version again as the newest (history is never rewritten)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import lock_row
from plugin.loyalty.rules.program import ProgramError, dump_program, load_program
from plugin.loyalty.status import shop_program
from plugin.models import Shop
from plugin.models.program_versions import ProgramVersion


class ProgramRejected(ValueError):
    """The document is not valid: ``path`` names the field, ``message`` says why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def validate_document(shop: Shop, doc: Any) -> dict:
    """The validator of ``program import``, plus the shop's currency; returns the normalised
    document or raises ProgramRejected naming the field."""
    if not isinstance(doc, dict):
        raise ProgramRejected("$", "the body must be a JSON program document")
    try:
        loaded = load_program(_decimals(doc))
    except ProgramError as exc:
        raise ProgramRejected(exc.path, exc.message) from None
    if loaded.currency != shop.currency:
        raise ProgramRejected("currency", f"the shop sells in {shop.currency}")
    return dump_program(loaded)


def save_program(session: Session, shop: Shop, doc: Any, saved_by: str | None, note: str | None = None) -> dict:
    """Validate, store as the shop's program and as a new version; returns the stored document."""
    document = validate_document(shop, doc)
    lock_row(session, Shop, shop.id)  # version numbers are handed out one save at a time
    _ensure_baseline(session, shop)
    shop.program = document
    session.add(ProgramVersion(shop_id=shop.id, version=_next_version(session, shop.id), document=document,
                               note=(note or "")[:200] or None, saved_by=saved_by))
    session.flush()
    return document


def list_versions(session: Session, shop: Shop, limit: int = 50) -> list[dict]:
    rows = session.execute(ProgramVersion.for_shop(shop.id).order_by(ProgramVersion.version.desc())
                           .limit(limit)).scalars()
    return [{"version": v.version, "note": v.note, "saved_by": v.saved_by, "created_at": v.created_at.isoformat(),
             "document": v.document} for v in rows]


def rollback(session: Session, shop: Shop, version: int, saved_by: str | None) -> dict:
    row = session.execute(ProgramVersion.for_shop(shop.id).where(ProgramVersion.version == version)
                          ).scalar_one_or_none()
    if row is None:
        raise LookupError(f"no version {version}")
    return save_program(session, shop, row.document, saved_by, note=f"rollback to v{version}")


def _ensure_baseline(session: Session, shop: Shop) -> None:
    """The program the shop had before its first save becomes version 1, so it can be restored."""
    if _next_version(session, shop.id) == 1:
        session.add(ProgramVersion(shop_id=shop.id, version=1, document=dump_program(shop_program(shop)),
                                   note="initial"))
        session.flush()


def _next_version(session: Session, shop_id: int) -> int:
    current = session.execute(select(func.max(ProgramVersion.version)).where(ProgramVersion.shop_id == shop_id)
                              ).scalar_one()
    return (current or 0) + 1


def _decimals(value: Any) -> Any:
    """Floats as Decimal (as ``program import`` parses JSON), so money never goes through float."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
