"""Hashed IP / device / address sightings from paid orders, and each referral party built from them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import insert_ignoring_conflicts
from plugin.models import Customer, CustomerFingerprint
from plugin.referrals.hashing import address_text, full_name, keyed_hash
from plugin.referrals.rules.fraud import Party, canonical_email


def device_hash(secret: str, ip_hash: str, ua_hash: str) -> str:
    """One browser on one connection, derived from the two hashes (so clicks can be compared too)."""
    return keyed_hash(secret, "device", f"{ip_hash}:{ua_hash}")


def order_fingerprints(secret: str, payload: dict) -> frozenset[tuple[str, str]]:
    """(kind, hash) pairs of an order: its browser IP, device and shipping address."""
    client = payload.get("client_details") if isinstance(payload.get("client_details"), dict) else {}
    ip_hash = keyed_hash(secret, "ip", payload.get("browser_ip") or client.get("browser_ip"))
    ua_hash = keyed_hash(secret, "ua", client.get("user_agent"))
    address_hash = keyed_hash(secret, "address", address_text(payload.get("shipping_address")))
    found = set()
    if ip_hash:
        found.add(("ip", ip_hash))
        if ua_hash:
            found.add(("device", device_hash(secret, ip_hash, ua_hash)))
    if address_hash:
        found.add(("address", address_hash))
    return frozenset(found)


def record_fingerprints(session: Session, shop_id: int, customer_id: int, found, now: datetime) -> None:
    for kind, value in found:
        insert_ignoring_conflicts(session, CustomerFingerprint, dict(
            shop_id=shop_id, customer_id=customer_id, kind=kind, value_hash=value, seen_at=now),
            ["shop_id", "customer_id", "kind", "value_hash"])


def advocate_party(session: Session, secret: str, advocate: Customer) -> Party:
    rows = session.execute(select(CustomerFingerprint.kind, CustomerFingerprint.value_hash).where(
        CustomerFingerprint.shop_id == advocate.shop_id, CustomerFingerprint.customer_id == advocate.id,
        CustomerFingerprint.value_hash.is_not(None))).all()
    return Party(customer_id=advocate.id, email=canonical_email(advocate.email),
                 name_hash=keyed_hash(secret, "name", full_name(advocate.first_name, advocate.last_name)),
                 fingerprints=frozenset((kind, value) for kind, value in rows))


@dataclass(frozen=True)
class OrderSignals:
    """What referrals read from an order payload besides the loyalty order facts (hashed at the edge)."""

    fingerprints: frozenset[tuple[str, str]]
    first_name: str | None
    last_name: str | None
    landing_site: str | None
    shopify_orders_count: int | None


def order_signals(secret: str, payload: dict) -> OrderSignals:
    """The order's hashed fingerprints, the embedded customer's name and order count, the landing URL."""
    embedded = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    count = embedded.get("orders_count")
    landing = payload.get("landing_site")
    return OrderSignals(fingerprints=order_fingerprints(secret, payload), first_name=embedded.get("first_name"),
                        last_name=embedded.get("last_name"),
                        landing_site=landing if isinstance(landing, str) else None,
                        shopify_orders_count=count if isinstance(count, int) and not isinstance(count, bool) else None)


def friend_party(secret: str, friend: Customer, facts, signals: OrderSignals) -> Party:
    name = full_name(signals.first_name or friend.first_name, signals.last_name or friend.last_name)
    return Party(customer_id=friend.id, email=canonical_email(facts.email or friend.email),
                 name_hash=keyed_hash(secret, "name", name), fingerprints=signals.fingerprints)
