"""Shopify's mandatory privacy requests: export, redact a customer, erase a shop.

Tables opt in declaratively: a model with ``__pii__`` lists its personal columns and is
linked to a customer by a ``customer_id`` column (or is the Customer itself). Adding a
table with personal data means adding ``__pii__`` to it — nothing else to remember.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, inspect, or_, select, update
from sqlalchemy.orm import Session

from .customers import find_customer, normalize_email
from .models import Base, Customer, CustomerDataExport, OAuthState, Shop, WebhookDelivery

REDACTED = None


def _linked_models():
    """Every mapped class holding personal data, with how to find a customer's rows."""
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__pii__", None) and cls is not Customer:
            yield cls


def _rows_for(session: Session, cls, shop_id: int, customer: Customer):
    columns = inspect(cls).columns
    conditions = []
    if "customer_id" in columns:
        conditions.append(cls.customer_id == customer.id)
    if "email" in columns and customer.email:
        conditions.append(cls.email == customer.email)
    if not conditions:
        return []
    return session.execute(select(cls).where(cls.shop_id == shop_id, or_(*conditions))).scalars().all()


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _row_dict(row) -> dict:
    return {c.key: _jsonable(getattr(row, c.key)) for c in inspect(row).mapper.column_attrs
            if not c.key.endswith("_enc")}


def export_customer_data(session: Session, shop: Shop, shopify_customer_id, email=None,
                         data_request_id=None) -> CustomerDataExport:
    """Assemble everything we hold on one customer into a record the merchant can download."""
    customer = find_customer(session, shop, shopify_id=shopify_customer_id, email=email)
    data: dict = {"shop": shop.domain, "customer_shopify_id": str(shopify_customer_id), "found": customer is not None}
    if customer is not None:
        data["customer"] = _row_dict(customer)
        for cls in _linked_models():
            rows = _rows_for(session, cls, shop.id, customer)
            if rows:
                data[cls.__tablename__] = [_row_dict(r) for r in rows]
        data["ledger"] = _ledger_rows(session, customer)
    export = CustomerDataExport(shop_id=shop.id, customer_shopify_id=str(shopify_customer_id),
                                data_request_id=str(data_request_id) if data_request_id else None, data=data)
    session.add(export)
    session.flush()
    return export


def _ledger_rows(session: Session, customer: Customer) -> list[dict]:
    ledger = next((m.class_ for m in Base.registry.mappers if m.class_.__tablename__ == "ledger_entries"), None)
    if ledger is None:
        return []
    rows = session.execute(select(ledger).where(ledger.customer_id == customer.id).order_by(ledger.id)).scalars()
    return [_row_dict(r) for r in rows]


def redact_customer(session: Session, shop: Shop, shopify_customer_id, email=None, now=None) -> bool:
    """Wipe a customer's personal data everywhere; ledger totals stay (they are not personal)."""
    customer = find_customer(session, shop, shopify_id=shopify_customer_id, email=email)
    purge_ids = {str(shopify_customer_id)} if shopify_customer_id is not None else set()
    if customer is not None:
        for cls in _linked_models():
            for row in _rows_for(session, cls, shop.id, customer):
                for column in cls.__pii__:
                    setattr(row, column, REDACTED)
        for column in Customer.__pii__:
            setattr(customer, column, REDACTED)
        customer.referral_code = None
        customer.redacted_at = now
        if customer.shopify_id:
            purge_ids.add(customer.shopify_id)
    session.execute(update(WebhookDelivery)
                    .where(WebhookDelivery.shop_id == shop.id, WebhookDelivery.subject_customer_id.in_(purge_ids))
                    .values(payload=None))
    session.execute(delete(CustomerDataExport).where(CustomerDataExport.shop_id == shop.id,
                                                     CustomerDataExport.customer_shopify_id.in_(purge_ids)))
    return customer is not None


def erase_shop(session: Session, shop: Shop, keep_delivery_id: int | None = None) -> None:
    """shop/redact: every tenant row goes (ON DELETE CASCADE from shops), then the shop itself."""
    if keep_delivery_id is not None:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == keep_delivery_id)
                        .values(shop_id=None, payload=None))
    session.execute(delete(OAuthState).where(OAuthState.shop_domain == shop.domain))
    for table in reversed(Base.metadata.sorted_tables):
        if "shop_id" in table.c and table.name != WebhookDelivery.__tablename__:
            session.execute(delete(table).where(table.c.shop_id == shop.id))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id))
    session.execute(delete(Shop).where(Shop.id == shop.id))


__all__ = ["export_customer_data", "redact_customer", "erase_shop", "normalize_email"]
