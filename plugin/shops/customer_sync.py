"""Customer facts that need the Admin API: consent (and birthday, language) read once for
customers the app has not seen through webhooks, and our own unsubscribes written back.

Both are tick tasks (the write-back also runs as a job right after an unsubscribe): Shopify
is called outside any transaction, one shop's outage never stops the others, and the state in
Postgres (``shopify_facts_checked_at``, ``consent_push_pending_at``) makes a rerun harmless.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.app_state import state
from plugin.customers.consent import fact_from_api, record_consent
from plugin.customers.profiles import _short, parse_birthday
from plugin.logs import get_logger
from plugin.models import Customer, Shop, utcnow
from plugin.shopify.customer_facts import WRITABLE_STATES, CustomerFacts, fetch_customer_facts, write_email_consent
from plugin.shopify.errors import ShopifyError, ShopifyUserError
from plugin.shops.tokens import ShopNotInstalled, admin_client

log = get_logger("shops.customer_sync")
BATCH = 50


def check_unseen_customers(app_state, now: datetime) -> dict:
    """Tick task: read consent (and the birthday metafield) once for customers that arrived
    without it — from a checkout, an order or a consent-less customers/create."""
    with app_state.db.transaction() as session:
        rows = session.execute(
            select(Customer.id, Customer.shop_id, Customer.shopify_id).join(Shop, Shop.id == Customer.shop_id)
            .where(Customer.shopify_facts_checked_at.is_(None), Customer.shopify_id.is_not(None),
                   Customer.redacted_at.is_(None), Shop.installed.is_(True), Shop.needs_reauth_at.is_(None),
                   Shop.access_token_enc.is_not(None))
            .order_by(Customer.id).limit(BATCH)).all()
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
        # Consent already on record in Shopify (import, or read once) pays no "you subscribed" points:
        # those follow the shopper's own act (consent topic, checkout, order).
        outcome.update(record_consent(session, shop, customer, fact, now))
    return outcome


def push_pending_consents(app_state, now: datetime, shop_id: int | None = None) -> dict:
    """Tick task (and the job after an unsubscribe): write our own unsubscribes back to
    Shopify with ``customerEmailMarketingConsentUpdate``. Cleared when written or when Shopify
    cannot take it (no Shopify customer, refused input); kept for the next tick on an outage."""
    query = (select(Customer.id, Customer.shop_id).join(Shop, Shop.id == Customer.shop_id)
             .where(Customer.consent_push_pending_at.is_not(None), Shop.installed.is_(True),
                    Shop.needs_reauth_at.is_(None)).order_by(Customer.id).limit(BATCH))
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


def shopify_order_count(app_state, shop: Shop, customer: Customer) -> int | None:
    """``Customer.numberOfOrders`` from Shopify (None without a Shopify id, or when the call
    fails — logged, and the local count decides). No retries: it runs inside a webhook."""
    if customer.shopify_id is None:
        return None
    try:
        found = fetch_customer_facts(admin_client(app_state, shop, max_retries=0), customer.shopify_id)
    except (ShopifyError, ShopNotInstalled) as exc:
        log.warning("order count lookup failed: %s", type(exc).__name__, extra={"shop": shop.domain})
        return None
    return found.number_of_orders if found else None
