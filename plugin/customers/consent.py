"""Email marketing consent, the one way in and out.

Since API 2025-01 ``customers/create|update`` carry no consent. It reaches us as:
* the ``customers_email_marketing_consent/update`` topic
  (https://shopify.dev/docs/api/webhooks/latest?reference=toml#list-of-topics-customers_email_marketing_consent/update);
* ``buyer_accepts_marketing: true`` on a checkout or an order — the shopper ticked the box;
* ``Customer.emailMarketingConsent`` over GraphQL, read once for a customer we have not seen
  through webhooks (plugin/shops/customer_sync.py, a tick task) and in the bulk import.
Every source becomes a ``ConsentFact`` applied by ``record_consent``: a fact older than what
we hold changes nothing (webhooks come out of order); subscribing pays the program's
``marketing_consent`` points once per customer ever (plugin/loyalty/consent_points.py).
Our own unsubscribe (link, SendGrid unsubscribe/spam report) is written back to Shopify with
``customerEmailMarketingConsentUpdate`` (plugin/shops/customer_sync.py, which also does the
GraphQL reads) so both agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from plugin.logs import get_logger
from plugin.models import Customer, Shop
from plugin.shopify.customer_facts import CustomerFacts

from .profiles import _short, find_customer, normalize_email, parse_shopify_time

log = get_logger("customers.consent")

SUBSCRIBED = "SUBSCRIBED"
STATES = {"subscribed": SUBSCRIBED, "not_subscribed": "NOT_SUBSCRIBED", "pending": "PENDING",
          "unsubscribed": "UNSUBSCRIBED", "redacted": "REDACTED", "invalid": "INVALID"}


@dataclass(frozen=True)
class ConsentFact:
    """One statement about a shopper's email marketing consent, with when it was true."""

    state: str
    at: datetime | None
    source: str  # consent_webhook, checkout, order, shopify_api, import, unsubscribe_link, sendgrid
    opt_in_level: str | None = None


def normalize_state(value: object) -> str | None:
    """``"subscribed"`` / ``"SUBSCRIBED"`` -> ``"SUBSCRIBED"``; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    return STATES.get(value.strip().lower())


def fact_from_consent_topic(payload: dict) -> tuple[int | None, str | None, ConsentFact | None]:
    """``customers_email_marketing_consent/update`` -> (customer id, email, fact)."""
    consent = payload.get("email_marketing_consent")
    consent = consent if isinstance(consent, dict) else {}
    state = normalize_state(consent.get("state"))
    customer_id = payload.get("customer_id")
    fact = ConsentFact(state, parse_shopify_time(consent.get("consent_updated_at")), "consent_webhook",
                       consent.get("opt_in_level") if isinstance(consent.get("opt_in_level"), str) else None) \
        if state else None
    return (customer_id if isinstance(customer_id, int) and not isinstance(customer_id, bool) else None,
            normalize_email(payload.get("email_address")), fact)


def opt_in_from_purchase(payload: dict, source: str) -> ConsentFact | None:
    """``buyer_accepts_marketing: true`` on a checkout/order is an opt-in at that moment;
    false says nothing (it is not an unsubscribe)."""
    if payload.get("buyer_accepts_marketing") is not True:
        return None
    at = parse_shopify_time(payload.get("updated_at")) or parse_shopify_time(payload.get("created_at"))
    return ConsentFact(SUBSCRIBED, at, source, "single_opt_in")


def fact_from_api(facts: CustomerFacts, source: str = "shopify_api") -> ConsentFact | None:
    state = normalize_state(facts.marketing_state)
    if state is None:
        return None
    return ConsentFact(state, parse_shopify_time(facts.consent_updated_at), source, facts.opt_in_level)


def record_consent(session: Session, shop: Shop, customer: Customer, fact: ConsentFact, now: datetime) -> dict:
    """Apply ``fact`` unless we hold a newer one. ``subscribed`` in the outcome says the shopper
    just subscribed (plugin/loyalty/consent_points.py pays the consent points for it)."""
    if customer.redacted_at is not None:
        return {"consent": "redacted"}
    held = customer.marketing_state_updated_at
    at = fact.at or now
    if held is not None and at < held:
        return {"consent": "older_than_stored"}
    changed = fact.state != customer.marketing_state
    customer.marketing_state = fact.state
    customer.marketing_state_updated_at = at
    session.flush()
    return {"consent": fact.state, "changed": changed, "subscribed": changed and fact.state == SUBSCRIBED}


def customer_for_consent(session: Session, shop: Shop, shopify_id: int | None, email: str | None) -> Customer | None:
    """The customer the consent is about, created when it arrives before customers/create."""
    customer = find_customer(session, shop, shopify_id=shopify_id, email=email)
    if customer is None and shopify_id is not None:
        customer = Customer(shop_id=shop.id, shopify_id=str(shopify_id), email=email)
        session.add(customer)
        session.flush()
    elif customer is not None and customer.shopify_id is None and shopify_id is not None:
        customer.shopify_id = str(shopify_id)
    return customer


def upsert_from_checkout_customer(session: Session, shop: Shop, customer_obj: dict, email: str | None,
                                  locale: str | None) -> Customer | None:
    """A checkout's ``customer`` object (id, email, names) for a shopper we may never have seen."""
    shopify_id = customer_obj.get("id") if isinstance(customer_obj.get("id"), int) else None
    email = normalize_email(customer_obj.get("email")) or email
    if shopify_id is None and email is None:
        return None
    customer = find_customer(session, shop, shopify_id=shopify_id, email=email)
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=str(shopify_id) if shopify_id else None, email=email)
        session.add(customer)
    if customer.redacted_at is not None:
        return customer
    customer.shopify_id = customer.shopify_id or (str(shopify_id) if shopify_id else None)
    customer.email = customer.email or email
    customer.first_name = customer.first_name or _short(customer_obj.get("first_name"))
    customer.last_name = customer.last_name or _short(customer_obj.get("last_name"))
    customer.locale = customer.locale or (locale[:16] if locale else None)
    session.flush()
    return customer
