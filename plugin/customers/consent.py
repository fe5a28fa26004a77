"""Email marketing consent, the one way in and out.

Since API 2025-01 ``customers/create|update`` carry no consent. It reaches us as:
* the ``customers_email_marketing_consent/update`` topic
  (https://shopify.dev/docs/api/webhooks/latest?reference=toml#list-of-topics-customers_email_marketing_consent/update);
* ``buyer_accepts_marketing: true`` on a checkout or an order — the shopper ticked the box;
* ``Customer.emailMarketingConsent`` over GraphQL, read once for a customer we have not seen
  through webhooks (``check_unseen_customers``, a tick task) and in the bulk import.
Every source becomes a ``ConsentFact`` applied by ``record_consent``: a fact older than what
we hold changes nothing (webhooks come out of order), and subscribing pays the program's
``marketing_consent`` points once per customer ever. Our own unsubscribe (link, SendGrid
unsubscribe/spam report) is written back to Shopify with ``customerEmailMarketingConsentUpdate``
(``push_pending_consents``) so both agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.app_state import state
from plugin.logs import get_logger
from plugin.loyalty.actions import award_marketing_consent_points
from plugin.models import Customer, Shop, utcnow
from plugin.shopify.customer_facts import WRITABLE_STATES, CustomerFacts, fetch_customer_facts, write_email_consent
from plugin.shopify.errors import ShopifyError, ShopifyUserError
from plugin.shops.tokens import ShopNotInstalled, admin_client

from .profiles import _short, find_customer, normalize_email, parse_birthday, parse_shopify_time

log = get_logger("customers.consent")

SUBSCRIBED = "SUBSCRIBED"
STATES = {"subscribed": SUBSCRIBED, "not_subscribed": "NOT_SUBSCRIBED", "pending": "PENDING",
          "unsubscribed": "UNSUBSCRIBED", "redacted": "REDACTED", "invalid": "INVALID"}
UNSEEN_BATCH = 50
# A customer Shopify does not know (yet) is asked again after this long, not on every tick.
RECHECK_MISSING = timedelta(hours=6)


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


def record_consent(session: Session, shop: Shop, customer: Customer, fact: ConsentFact, now: datetime,
                   source_key: str) -> dict:
    """Apply ``fact`` unless we hold a newer one; pay consent points when it subscribes."""
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
    outcome: dict = {"consent": fact.state, "changed": changed}
    if changed and fact.state == SUBSCRIBED:
        outcome["consent_points"] = award_marketing_consent_points(session, shop, customer, now, source_key)
    return outcome


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


def check_unseen_customers(app_state, now: datetime) -> dict:
    """Tick task: read consent (and the birthday metafield) once for customers that arrived
    without it — from a checkout, an order or a consent-less customers/create."""
    with app_state.db.transaction() as session:
        rows = session.execute(
            select(Customer.id, Customer.shop_id, Customer.shopify_id).join(Shop, Shop.id == Customer.shop_id)
            .where(Customer.shopify_facts_checked_at.is_(None), Customer.shopify_id.is_not(None),
                   Customer.redacted_at.is_(None), Shop.installed.is_(True), Shop.needs_reauth_at.is_(None),
                   Shop.access_token_enc.is_not(None))
            .order_by(Customer.id).limit(UNSEEN_BATCH)).all()
    result = {"checked": 0, "errors": 0}
    skipped_shops: set[int] = set()
    for customer_id, shop_id, shopify_id in rows:
        if shop_id in skipped_shops:
            continue
        try:
            facts = _fetch(app_state, shop_id, shopify_id)
        except (ShopifyError, ShopNotInstalled) as exc:
            log.warning("customer lookup failed: %s", type(exc).__name__, extra={"shop": shop_id})
            skipped_shops.add(shop_id)
            result["errors"] += 1
            continue
        with app_state.db.transaction() as session:
            apply_customer_facts(session, session.get(Shop, shop_id), session.get(Customer, customer_id), facts, now,
                                 "shopify_api")
        result["checked"] += 1
    return result


def _fetch(app_state, shop_id: int, shopify_id: str) -> CustomerFacts | None:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
    return fetch_customer_facts(admin_client(app_state, shop, max_retries=0), shopify_id)


def apply_customer_facts(session: Session, shop: Shop, customer: Customer, facts: CustomerFacts | None,
                         now: datetime, source: str) -> dict:
    """What Shopify's Admin API says about a customer: consent and birthday; marks it checked."""
    customer.shopify_facts_checked_at = now
    if facts is None:  # not in Shopify (yet): a guest, or a deleted customer
        return {"found": False}
    if customer.redacted_at is not None:
        return {"found": True}
    customer.birthday = customer.birthday or parse_birthday(facts.birthday)
    customer.locale = customer.locale or _short(facts.locale, 16)
    fact = fact_from_api(facts, source)
    outcome = {"found": True}
    if fact is not None:
        outcome.update(record_consent(session, shop, customer, fact, now, f"{source}:{facts.shopify_id}"))
    return outcome


def push_pending_consents(app_state, now: datetime, shop_id: int | None = None) -> dict:
    """Tick task (and the job after an unsubscribe): write our own unsubscribes back to
    Shopify with ``customerEmailMarketingConsentUpdate``. Cleared when written or when Shopify
    cannot take it (no Shopify customer, refused input); kept for the next tick on an outage."""
    query = (select(Customer.id, Customer.shop_id).join(Shop, Shop.id == Customer.shop_id)
             .where(Customer.consent_push_pending_at.is_not(None), Shop.installed.is_(True),
                    Shop.needs_reauth_at.is_(None)).order_by(Customer.id).limit(UNSEEN_BATCH))
    if shop_id is not None:
        query = query.where(Customer.shop_id == shop_id)
    with app_state.db.transaction() as session:
        rows = session.execute(query).all()
    counts: dict[str, int] = {}
    for customer_id, owner_id in rows:
        outcome = _push_one(app_state, owner_id, customer_id, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def push_pending_consents_job(shop_id: int) -> dict:
    """RQ entry point, enqueued right after an unsubscribe commits (emails/events.py)."""
    return push_pending_consents(state(), utcnow(), shop_id)


def _push_one(app_state, shop_id: int, customer_id: int, now: datetime) -> str:
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        customer = session.get(Customer, customer_id)
        pending_at = customer.consent_push_pending_at
        state, shopify_id, redacted = customer.marketing_state, customer.shopify_id, customer.redacted_at
        at = customer.marketing_state_updated_at or now
    outcome = "written"
    if shopify_id is None or redacted is not None:
        outcome = "no_shopify_customer"
    elif state not in WRITABLE_STATES:
        outcome = "not_writable"
    else:
        try:
            write_email_consent(admin_client(app_state, shop, max_retries=0), shopify_id, state, at.isoformat())
        except ShopifyUserError as exc:
            log.warning("Shopify refused the consent write-back: %s", exc.codes or "userErrors",
                        extra={"shop": shop.domain})
            outcome = "refused"
        except (ShopifyError, ShopNotInstalled) as exc:
            log.warning("consent write-back failed, retried next tick: %s", type(exc).__name__,
                        extra={"shop": shop.domain})
            return "retry"
    with app_state.db.transaction() as session:
        customer = session.get(Customer, customer_id)
        if customer.consent_push_pending_at == pending_at:  # no newer unsubscribe meanwhile
            customer.consent_push_pending_at = None
    return outcome
