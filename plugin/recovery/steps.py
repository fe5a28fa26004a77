"""Tick task: execute the recovery steps that are due, each in its own short transactions.

Per step: (1) lock it, look for a purchase, decide (send / skip / cancel); if the step
carries the incentive, pick the code and commit. (2) Create the code in Shopify, outside any
transaction. (3) Lock again and queue the email through emails.delivery.outbox.queue_email with
message_key ``checkout:<token>:step:<n>`` — a crash between phases repeats at most
idempotent work (same code, same message key).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from emails.delivery.outbox import queue_email
from plugin.customers.profiles import find_customer
from plugin.logs import get_logger
from plugin.loyalty.status import shop_program
from plugin.models import Customer, OutboxMessage, Shop
from plugin.models.checkouts import SCHEDULED, SENT, SKIPPED, AbandonedCheckout, RecoveryStep
from plugin.models.email import SUPPRESSED
from plugin.recovery.checkouts import cancel_scheduled
from plugin.recovery.completion import apply_purchase
from plugin.recovery.email_context import recovery_context
from plugin.recovery.incentive import create_in_shopify, new_code
from plugin.recovery.rules.series import SendFacts, decide_send

BATCH = 500
log = get_logger("checkouts.sender")


def send_due_recovery_steps(app_state, now: datetime) -> dict:
    """Every scheduled step due at ``now``: sent, skipped with a reason, or cancelled by a purchase."""
    with app_state.db.transaction() as session:
        ids = list(session.execute(select(RecoveryStep.id).where(RecoveryStep.status == SCHEDULED,
                                                                 RecoveryStep.due_at <= now)
                                   .order_by(RecoveryStep.due_at, RecoveryStep.id).limit(BATCH)).scalars())
    outcomes: dict[str, int] = {}
    for step_id in ids:
        try:
            outcome = process_step(app_state, step_id, now)
        except Exception:  # noqa: BLE001 - the step stays scheduled and is retried on the next tick
            log.exception("recovery step failed", extra={"step_id": step_id})
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"due": len(ids), **outcomes}


def _lock(session, step_id: int):
    """Checkout first, then step: the same order as the webhook handler, so no deadlock."""
    checkout_id = session.execute(select(RecoveryStep.checkout_id).where(RecoveryStep.id == step_id)).scalar()
    checkout = session.execute(select(AbandonedCheckout).where(AbandonedCheckout.id == checkout_id)
                               .with_for_update()).scalar_one_or_none() if checkout_id else None
    step = session.execute(select(RecoveryStep).where(RecoveryStep.id == step_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if checkout is None or step is None or step.status != SCHEDULED:
        return None, None
    return step, checkout


def _customer(session, shop: Shop, checkout: AbandonedCheckout) -> Customer | None:
    customer = session.get(Customer, checkout.customer_id) if checkout.customer_id else None
    if customer is None:
        customer = find_customer(session, shop, shopify_id=checkout.customer_shopify_id, email=checkout.email)
        checkout.customer_id = customer.id if customer else None
    return customer


def _decide(session, shop, step, checkout, now):
    if not shop.installed:  # app/uninstalled cancels the series; this guards a step caught mid-way
        step.status, step.skip_reason = SKIPPED, "shop_uninstalled"
        return "skipped"
    if apply_purchase(session, shop, checkout, now) or checkout.completed_at is not None:
        cancel_scheduled(session, checkout, "purchased" if checkout.completed_order_id else "completed")
        return "cancelled"
    customer = _customer(session, shop, checkout)
    later_due = session.execute(select(RecoveryStep.id).where(
        RecoveryStep.checkout_id == checkout.id, RecoveryStep.step > step.step,
        RecoveryStep.status == SCHEDULED, RecoveryStep.due_at <= now).limit(1)).scalar() is not None
    has_items = not checkout.emptied and any(int(li.get("quantity") or 0) > 0 for li in checkout.line_items or [])
    facts = SendFacts(purchased=False, email=checkout.email, has_items=has_items, later_step_due=later_due,
                      items_known=checkout.line_items is not None,
                      consent_state=customer.marketing_state if customer else checkout.consent_state)
    decision = decide_send(facts, step.due_at, now)
    if decision.action != "send":
        step.status, step.skip_reason = SKIPPED, decision.reason
        return "skipped"
    return "send"


def process_step(app_state, step_id: int, now: datetime) -> str:
    with app_state.db.transaction() as session:
        step, checkout = _lock(session, step_id)
        if step is None:
            return "not_due"
        shop = session.get(Shop, checkout.shop_id)
        decision = _decide(session, shop, step, checkout, now)
        if decision != "send":
            return decision
        series = shop_program(shop).abandoned_checkout
        wants_code = series is not None and series.incentive_on_step == step.step
        if wants_code and step.incentive_code is None:
            step.incentive_code = new_code()
        pending_code = step.incentive_code if wants_code and not step.incentive_created and not step.incentive_error else None
        code_args = (shop, pending_code, series.incentive if series else None, checkout.customer_shopify_id)
    if pending_code:
        error = create_in_shopify(app_state, *code_args, now)
        with app_state.db.transaction() as session:
            step, _ = _lock(session, step_id)
            if step is None:
                return "not_due"
            step.incentive_created, step.incentive_error = error is None, error
    return queue_step_email(app_state, step_id, now)


def queue_step_email(app_state, step_id: int, now: datetime) -> str:
    with app_state.db.transaction() as session:
        step, checkout = _lock(session, step_id)
        if step is None:
            return "not_due"
        shop = session.get(Shop, checkout.shop_id)
        decision = _decide(session, shop, step, checkout, now)  # again: the shopper may have bought meanwhile
        if decision != "send":
            return decision
        customer = _customer(session, shop, checkout)
        code = step.incentive_code if step.incentive_created else None
        context = recovery_context(shop, checkout, customer, shop_program(shop), code)
        key = f"checkout:{checkout.token}:step:{step.step}"
        outbox_id = queue_email(session, shop=shop, flow=f"abandoned_checkout_{min(step.step, 3)}", message_key=key,
                                to_email=checkout.email, context=context, customer=customer,
                                locale=checkout.locale or (customer.locale if customer else None),
                                send_after=now, marketing=True, now=now)
        row = session.execute(select(OutboxMessage).where(OutboxMessage.shop_id == shop.id,
                                                          OutboxMessage.message_key == key)).scalar_one_or_none()
        step.outbox_message_id = row.id if row else outbox_id
        if row is not None and row.status == SUPPRESSED:
            step.status, step.skip_reason = SKIPPED, f"email_{row.reason}"[:64]
            return "skipped"
        step.status, step.sent_at = SENT, now
        return "sent"
