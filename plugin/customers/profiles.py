"""Keeping our copy of a Shopify customer current (customers/create, customers/update, orders).

Consent is not in these payloads (since API 2025-01): see consent.py."""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import note_locked
from plugin.models import Customer, Shop


class CustomerPayloadError(ValueError):
    """A customer payload we cannot use (the caller decides what that means for its source)."""


def normalize_email(email) -> str | None:
    if not isinstance(email, str) or "@" not in email:
        return None
    return email.strip().lower()[:320]


def email_hash(email: str) -> str:
    """sha256 of the trimmed, lower-cased address: finds a guest's deliveries on redact."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def parse_shopify_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def find_customer(session: Session, shop: Shop, shopify_id=None, email=None, lock: bool = False) -> Customer | None:
    """By Shopify id first, then by email (guest checkouts and new accounts). ``lock``: read
    it FOR UPDATE, so the caller's later ``lock_customer`` costs no second SELECT."""
    found = None
    if shopify_id is not None:
        found = session.execute(_locking(Customer.for_shop(shop.id).where(Customer.shopify_id == str(shopify_id)),
                                         lock)).scalar_one_or_none()
    email = normalize_email(email)
    if found is None and email:
        found = session.execute(_locking(Customer.for_shop(shop.id).where(Customer.email == email)
                                         .order_by(Customer.shopify_id.is_(None), Customer.id).limit(1), lock)
                                ).scalar_one_or_none()
    if found is not None and lock:
        note_locked(session, found)
    return found


def _locking(query, lock: bool):
    return query.with_for_update().execution_options(populate_existing=True) if lock else query


def upsert_customer(session: Session, shop: Shop, payload: dict) -> tuple[Customer, bool]:
    """Create or update from a Shopify customer object; an older payload never overwrites newer data."""
    shopify_id = payload.get("id")
    if not isinstance(shopify_id, int):
        raise CustomerPayloadError("customer payload has no integer id")
    customer = find_customer(session, shop, shopify_id=shopify_id, email=payload.get("email"))
    created = customer is None
    if created:
        customer = Customer(shop_id=shop.id, shopify_id=str(shopify_id))
        session.add(customer)
    updated_at = parse_shopify_time(payload.get("updated_at"))
    if not created and customer.shopify_updated_at and updated_at and updated_at < customer.shopify_updated_at:
        return customer, False
    if customer.redacted_at is not None:
        return customer, False
    customer.shopify_id = str(shopify_id)
    customer.email = normalize_email(payload.get("email")) or customer.email
    customer.first_name = _short(payload.get("first_name")) or customer.first_name
    customer.last_name = _short(payload.get("last_name")) or customer.last_name
    if isinstance(payload.get("phone"), str) and payload["phone"]:
        customer.phone_hash = hashlib.sha256(payload["phone"].encode()).hexdigest()
    customer.locale = _short(payload.get("locale"), 16) or customer.locale
    from_metafield = metafield_birthday(payload)
    if from_metafield is not None and from_metafield != customer.birthday:  # shoppers can edit it too
        customer.birthday_saved_on = (updated_at or datetime.now(UTC)).date()
    customer.birthday = from_metafield or customer.birthday
    customer.shopify_updated_at = updated_at or customer.shopify_updated_at
    session.flush()
    return customer, created


def customer_for_order(session: Session, shop: Shop, order: dict, lock: bool = False) -> Customer | None:
    """The order's customer, by id then email; created from the order if we never saw it.
    ``lock``: the row comes back locked for this transaction (see ``find_customer``)."""
    embedded = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    shopify_id = embedded.get("id")
    email = order.get("email") or order.get("contact_email") or embedded.get("email")
    customer = find_customer(session, shop, shopify_id=shopify_id, email=email, lock=lock)
    if customer is None and (isinstance(shopify_id, int) or normalize_email(email)):
        customer = Customer(shop_id=shop.id, shopify_id=str(shopify_id) if isinstance(shopify_id, int) else None,
                            email=normalize_email(email), first_name=_short(embedded.get("first_name")),
                            last_name=_short(embedded.get("last_name")), locale=_short(order.get("customer_locale"), 16))
        session.add(customer)
        session.flush()
        note_locked(session, customer)  # inserted by this transaction: no one else sees it yet
    elif customer is not None and customer.shopify_id is None and isinstance(shopify_id, int):
        customer.shopify_id = str(shopify_id)
    return customer


def count_customers(session: Session, shop: Shop) -> int:
    return session.execute(select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)).scalar_one()


class BirthdayError(ValueError):
    """A birthday we cannot accept; the message names the field and what is wrong."""


EARLIEST_BIRTHDAY = date(1900, 1, 1)


def check_birthday(value, today: date, field: str = "birthday") -> date:
    """A real past date written ``YYYY-MM-DD``, or BirthdayError saying why not."""
    if not isinstance(value, str) or len(value.strip()) != 10:
        raise BirthdayError(f"{field}: expected a date written YYYY-MM-DD, e.g. 1990-05-17")
    try:
        born = date.fromisoformat(value.strip())
    except ValueError:
        raise BirthdayError(f"{field}: {value.strip()!r} is not a calendar date (YYYY-MM-DD)") from None
    if born > today:
        raise BirthdayError(f"{field}: a birthday cannot be in the future")
    if born < EARLIEST_BIRTHDAY:
        raise BirthdayError(f"{field}: must be after {EARLIEST_BIRTHDAY.isoformat()}")
    return born


def parse_birthday(value) -> date | None:
    """Lenient: a usable birthday from outside data, or None."""
    try:
        return check_birthday(value[:10] if isinstance(value, str) else value, date.today())
    except BirthdayError:
        return None


def metafield_birthday(payload: dict) -> date | None:
    """Shopify's standard customer metafield ``facts.birth_date``, when the payload carries it."""
    fields = payload.get("metafields")
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict) and field.get("namespace") == "facts" and field.get("key") == "birth_date":
            return parse_birthday(field.get("value"))
    return None


def _short(value, limit: int = 255) -> str | None:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None
