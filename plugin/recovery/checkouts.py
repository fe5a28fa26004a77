"""Keeping the latest state per checkout token and its schedule of recovery steps.

One row per (shop, token), created with INSERT … ON CONFLICT and then locked, so duplicate
or concurrent deliveries converge on one checkout and one series (unique (checkout, step)).
A payload older than what we hold (``updated_at``) changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from plugin.customers.consent import ConsentFact, upsert_from_checkout_customer
from plugin.customers.profiles import find_customer
from plugin.db import insert_ignoring_conflicts
from plugin.loyalty.consent_points import record_consent_and_reward
from plugin.loyalty.status import shop_program
from plugin.models import Shop
from plugin.models.checkouts import CANCELLED, SCHEDULED, AbandonedCheckout, RecoveryStep
from plugin.recovery.facts import CheckoutFacts
from plugin.recovery.rules.series import plan_steps


def lock_checkout(session: Session, shop_id: int, token: str) -> AbandonedCheckout:
    """The checkout row for ``token``, created if new, locked FOR UPDATE."""
    insert_ignoring_conflicts(session, AbandonedCheckout, {"shop_id": shop_id, "token": token}, ["shop_id", "token"])
    return session.execute(AbandonedCheckout.for_shop(shop_id).where(AbandonedCheckout.token == token)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _find_by_checkout_id(session: Session, shop_id: int, checkout_id: str | None) -> str | None:
    if checkout_id is None:
        return None
    return session.execute(select(AbandonedCheckout.token).where(
        AbandonedCheckout.shop_id == shop_id, AbandonedCheckout.checkout_id == checkout_id).limit(1)).scalar()


def upsert_checkout(session: Session, shop: Shop, facts: CheckoutFacts, now: datetime, source: str = "webhook") -> dict:
    """Apply ``facts`` unless we already hold a newer state; (re)plan the series. Returns an outcome."""
    token = _find_by_checkout_id(session, shop.id, facts.checkout_id) if source == "reconcile" else None
    checkout = lock_checkout(session, shop.id, token or facts.token)
    is_new = checkout.shopify_updated_at is None and checkout.recovery_url is None and not checkout.line_items
    if checkout.shopify_updated_at and facts.updated_at and facts.updated_at < checkout.shopify_updated_at:
        return {"checkout_id": checkout.id, "applied": False, "reason": "older_than_stored"}
    newer = checkout.shopify_updated_at is None or (facts.updated_at or now) > checkout.shopify_updated_at
    _apply(session, shop, checkout, facts, source if is_new else checkout.source, now)
    if checkout.completed_at is not None:
        cancelled = cancel_scheduled(session, checkout, "completed")
        return {"checkout_id": checkout.id, "applied": True, "completed": True, "cancelled_steps": cancelled}
    planned = plan_series(session, shop, checkout, rebase=newer)
    return {"checkout_id": checkout.id, "applied": True, "steps": planned}


def _apply(session: Session, shop: Shop, checkout: AbandonedCheckout, facts: CheckoutFacts, source: str,
           now: datetime) -> None:
    checkout.source = source
    checkout.checkout_id = facts.checkout_id or checkout.checkout_id
    checkout.email = facts.email or checkout.email
    checkout.customer_shopify_id = facts.customer_shopify_id or checkout.customer_shopify_id
    checkout.locale = facts.locale or checkout.locale
    checkout.consent_state = facts.consent_state or checkout.consent_state
    if facts.line_items is not None:
        checkout.line_items = [dict(line) for line in facts.line_items]
        checkout.emptied = not any(line["quantity"] > 0 for line in facts.line_items)
    if facts.subtotal is not None or facts.currency:
        checkout.subtotal, checkout.currency = facts.subtotal, facts.currency
    if facts.presentment_subtotal is not None:
        checkout.presentment_subtotal, checkout.presentment_currency = facts.presentment_subtotal, facts.presentment_currency
    checkout.recovery_url = facts.recovery_url or checkout.recovery_url
    checkout.shopify_created_at = checkout.shopify_created_at or facts.created_at or facts.updated_at
    checkout.shopify_updated_at = facts.updated_at or checkout.shopify_updated_at
    checkout.completed_at = checkout.completed_at or facts.completed_at
    customer = _checkout_customer(session, shop, checkout, facts, now)
    if customer is not None:
        checkout.customer_id = customer.id
    session.flush()


def _checkout_customer(session: Session, shop: Shop, checkout: AbandonedCheckout, facts: CheckoutFacts,
                       now: datetime):
    """The shopper behind the checkout. A customer object (customers from before install, or
    whose customers/create comes later) or a guest who accepted marketing becomes a customer
    row, so the series can reach them; ``buyer_accepts_marketing`` is their opt-in."""
    opted_in = facts.consent_state == "SUBSCRIBED"
    if facts.customer or opted_in:
        customer = upsert_from_checkout_customer(session, shop, facts.customer or {}, checkout.email, checkout.locale)
    else:
        customer = find_customer(session, shop, shopify_id=checkout.customer_shopify_id, email=checkout.email)
    if customer is not None and opted_in:
        opt_in = ConsentFact("SUBSCRIBED", facts.updated_at or facts.created_at, "checkout", "single_opt_in")
        record_consent_and_reward(session, shop, customer, opt_in, now, f"checkout:{checkout.token}")
    return customer


def plan_series(session: Session, shop: Shop, checkout: AbandonedCheckout, rebase: bool) -> int:
    """Create the missing steps; move not-yet-sent ones when the checkout changed. Returns the count planned."""
    series = shop_program(shop).abandoned_checkout
    if series is None or not checkout.email or checkout.recovered_at is not None:
        return 0
    base = checkout.shopify_updated_at or checkout.created_at
    plan = plan_steps(base, series.delays)
    for number, due_at in plan:
        created = insert_ignoring_conflicts(session, RecoveryStep, dict(
            shop_id=shop.id, checkout_id=checkout.id, step=number, due_at=due_at, status=SCHEDULED), ["checkout_id", "step"])
        if created is None and rebase:
            session.execute(update(RecoveryStep).where(RecoveryStep.checkout_id == checkout.id,
                                                       RecoveryStep.step == number, RecoveryStep.status == SCHEDULED)
                            .values(due_at=due_at))
    return len(plan)


def cancel_scheduled(session: Session, checkout: AbandonedCheckout, reason: str) -> int:
    """A purchase ends the series: every step not sent yet is cancelled."""
    result = cast(CursorResult[Any], session.execute(update(RecoveryStep).where(RecoveryStep.checkout_id == checkout.id,
                                                        RecoveryStep.status == SCHEDULED)
                             .values(status=CANCELLED, skip_reason=reason)))
    return result.rowcount or 0


def cancel_all_scheduled(session: Session, shop_id: int, reason: str) -> int:
    """Every step of the shop not sent yet is cancelled (app/uninstalled)."""
    result = cast(CursorResult[Any], session.execute(
        update(RecoveryStep).where(RecoveryStep.shop_id == shop_id, RecoveryStep.status == SCHEDULED)
        .values(status=CANCELLED, skip_reason=reason)))
    return result.rowcount or 0
