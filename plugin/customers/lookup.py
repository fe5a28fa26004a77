"""Finding a shop's customer the way merchants name them: Shopify id or email."""
from __future__ import annotations

from sqlalchemy import select

from plugin.customers.profiles import find_customer
from plugin.models import Customer, LedgerEntry, Shop


def customer_by_reference(session, shop: Shop, reference: str) -> Customer | None:
    reference = (reference or "").strip()
    if reference.isdigit():
        return find_customer(session, shop, shopify_id=reference)
    return find_customer(session, shop, email=reference)


def ledger_rows(session, customer: Customer, limit: int = 500) -> list[dict]:
    """The customer's ledger newest first, as merchants read it (no personal data in it)."""

    rows = session.execute(select(LedgerEntry).where(LedgerEntry.customer_id == customer.id)
                           .order_by(LedgerEntry.id.desc()).limit(limit)).scalars()
    return [{"id": str(r.id), "kind": r.kind, "available": r.available, "pending": r.pending, "key": r.key,
             "reason": r.reason, "source": r.source, "order_id": r.order_id,
             "occurred_at": r.occurred_at.isoformat()} for r in rows]
