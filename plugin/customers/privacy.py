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

from plugin.customers.profiles import find_customer, normalize_email
from plugin.models import Base, Customer, CustomerDataExport, OAuthState, Shop, WebhookDelivery


def _linked_models():
    """Every mapped class holding personal data, with how to find a customer's rows."""
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__pii__", None) and cls is not Customer:
            yield cls


def _rows_for(session: Session, cls, shop_id: int, customer: Customer, outbox_ids=()):
    """A customer's rows: by ``customer_id``, ``about_customer_id`` (mail about them to
    someone else), ``email``/``to_email``, or ``outbox_id`` (events of their emails)."""
    columns = inspect(cls).columns
    conditions = [getattr(cls, name) == customer.id for name in ("customer_id", "about_customer_id")
                  if name in columns]
    if customer.email:
        conditions += [getattr(cls, name) == customer.email for name in ("email", "to_email") if name in columns]
    if "outbox_id" in columns and outbox_ids:
        conditions.append(cls.outbox_id.in_(outbox_ids))
    if not conditions:
        return []
    return session.execute(select(cls).where(cls.shop_id == shop_id, or_(*conditions))).scalars().all()


def _blank(cls, column: str):
    """What a wiped column holds: NULL, or an empty value where the column may not be NULL."""
    col = inspect(cls).columns[column]
    if col.nullable:
        return None
    return {} if "JSON" in str(col.type).upper() else ""


def _customer_rows(session: Session, shop_id: int, customer: Customer) -> list:
    """Every personal row of the customer, gathered before anything is wiped (events are
    found through the emails they belong to, whose addresses are about to go)."""
    pii_models = list(_linked_models())
    found = []
    for cls in pii_models:
        if "outbox_id" not in inspect(cls).columns:
            found += [(cls, row) for row in _rows_for(session, cls, shop_id, customer)]
    outbox_ids = [row.id for cls, row in found if cls.__tablename__ == "email_outbox"]
    for cls in pii_models:
        if "outbox_id" in inspect(cls).columns:
            found += [(cls, row) for row in _rows_for(session, cls, shop_id, customer, outbox_ids)]
    return found


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
        for cls, row in _customer_rows(session, shop.id, customer):
            data.setdefault(cls.__tablename__, []).append(_row_dict(row))
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
        for cls, row in _customer_rows(session, shop.id, customer):
            for column in cls.__pii__:
                setattr(row, column, _blank(cls, column))
        for column in Customer.__pii__:
            setattr(customer, column, None)
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
