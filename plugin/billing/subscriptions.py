"""A shop's plan: subscribing (Shopify confirmation flow), syncing from Shopify, usage.

Shopify is the truth: after the merchant approves or declines at ``confirmationUrl``
Shopify sends them to our return URL, and we read ``currentAppInstallation.activeSubscriptions``
(and the pending subscription's own status) instead of trusting the query string. A
cancellation made in Shopify is seen by the next sync (the billing page, the return URL,
and ``tick`` once a day). No feature depends on the plan.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from plugin.billing.plans import plans_of
from plugin.billing.rules.plans import (
    ACTIVE,
    PENDING,
    Plan,
    find_plan,
    free_plan,
    month_start,
    plan_named,
    usage,
)
from plugin.db import insert_ignoring_conflicts
from plugin.logs import get_logger
from plugin.models import Order, Shop, ShopBilling
from plugin.shopify.billing import (
    active_subscriptions,
    cancel_subscription,
    create_subscription,
    find_subscription,
)
from plugin.shopify.errors import ShopifyError
from plugin.shops.tokens import ShopNotInstalled, admin_client

log = get_logger("billing")
RESYNC_EVERY = timedelta(hours=24)


class BillingOff(RuntimeError):
    """BILLING=off: this install charges nothing."""


class UnknownPlan(LookupError):
    pass


def _locked_row(session, shop_id: int, plans: tuple[Plan, ...]) -> ShopBilling:
    insert_ignoring_conflicts(session, ShopBilling, {"shop_id": shop_id, "plan_id": free_plan(plans).id}, ["shop_id"])
    return session.execute(select(ShopBilling).where(ShopBilling.shop_id == shop_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def orders_this_month(session, shop_id: int, now: datetime) -> int:
    return session.execute(select(func.count()).select_from(Order).where(
        Order.shop_id == shop_id, Order.placed_at >= month_start(now), Order.cancelled.is_(False))).scalar_one()


def _plan_dict(plan: Plan) -> dict:
    return {"id": plan.id, "name": plan.name, "price": str(plan.price), "currency": plan.currency,
            "interval": plan.interval, "trial_days": plan.trial_days, "orders_per_month": plan.orders_per_month,
            "free": plan.free}


def billing_status(session, config, shop: Shop, now: datetime) -> dict:
    """What the admin shows: the plan, its allowance and this month's orders."""
    if not config.billing:
        return {"enabled": False}
    plans = plans_of(config)
    row = session.execute(select(ShopBilling).where(ShopBilling.shop_id == shop.id)).scalar_one_or_none()
    plan = (find_plan(plans, row.plan_id) if row else None) or free_plan(plans)
    used = usage(plan, orders_this_month(session, shop.id, now), now)
    pending = find_plan(plans, row.pending_plan_id) if row and row.subscription_status == PENDING else None
    return {"enabled": True, "plan": _plan_dict(plan), "plans": [_plan_dict(p) for p in plans],
            "status": row.subscription_status if row else None, "test": bool(row and row.test),
            "pending_plan": _plan_dict(pending) if pending else None,
            "trial_ends_at": row.trial_ends_at.isoformat() if row and row.trial_ends_at else None,
            "current_period_end": row.current_period_end.isoformat() if row and row.current_period_end else None,
            "usage": {"orders": used.orders, "allowance": used.allowance, "over": used.over,
                      "since": used.month_start.date().isoformat()}}


def return_url(config, shop: Shop) -> str:
    return f"{config.app_url.rstrip('/')}/billing/return?shop={shop.domain}"


def start_subscription(app_state, shop_id: int, plan_id: str, now: datetime) -> str | None:
    """A paid plan: the ``confirmationUrl`` to send the merchant to. The free plan: cancels
    the paid subscription at once and returns None."""
    config = app_state.config
    if not config.billing:
        raise BillingOff()
    plan = find_plan(plans_of(config), plan_id)
    if plan is None:
        raise UnknownPlan(plan_id)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        row = _locked_row(session, shop_id, plans_of(config))
        current_gid = row.subscription_gid if row.subscription_status == ACTIVE else None
    client = admin_client(app_state, shop)
    if plan.free:
        if current_gid:
            cancel_subscription(client, current_gid)
        sync_subscription(app_state, shop_id, now)
        return None
    created = create_subscription(client, name=plan.name, price=plan.price, currency=plan.currency,
                                  interval=plan.interval, trial_days=plan.trial_days,
                                  return_url=return_url(config, shop), test=config.billing_test)
    with app_state.db.transaction() as session:
        row = _locked_row(session, shop_id, plans_of(config))
        row.pending_plan_id, row.subscription_gid = plan.id, created.subscription.gid
        row.subscription_status = created.subscription.status or PENDING
    return created.confirmation_url


def sync_subscription(app_state, shop_id: int, now: datetime) -> dict:
    """Read the truth from Shopify and apply it: an ACTIVE subscription for a paid plan sets
    that plan; otherwise the shop is on the free plan (declined, cancelled, expired, frozen)."""
    config = app_state.config
    plans = plans_of(config)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        row = _locked_row(session, shop_id, plans)
        known_gid = row.subscription_gid
    client = admin_client(app_state, shop)
    active = [s for s in active_subscriptions(client) if s.status == ACTIVE and plan_named(plans, s.name)]
    paid = active[0] if active else None
    known = find_subscription(client, known_gid) if paid is None and known_gid else None
    with app_state.db.transaction() as session:
        row = _locked_row(session, shop_id, plans)
        if paid is not None:
            plan = plan_named(plans, paid.name)
            row.plan_id, row.subscription_gid, row.subscription_status = plan.id, paid.gid, ACTIVE
            row.test, row.current_period_end = paid.test, paid.current_period_end
            row.trial_ends_at = (paid.created_at + timedelta(days=paid.trial_days)
                                 if paid.created_at and paid.trial_days else None)
            row.pending_plan_id = None
        else:
            row.plan_id = free_plan(plans).id
            row.subscription_status = known.status if known else None
            row.subscription_gid = known.gid if known else None
            row.current_period_end = row.trial_ends_at = None
            if row.subscription_status != PENDING:
                row.pending_plan_id = None
        row.synced_at = now
        return {"plan": row.plan_id, "status": row.subscription_status}


def has_pending_subscription(session, shop_id: int) -> bool:
    return session.execute(select(ShopBilling.id).where(
        ShopBilling.shop_id == shop_id, ShopBilling.subscription_status == PENDING)).first() is not None


def sync_billing(app_state, now: datetime) -> dict:
    """Tick task: once a day per shop with a known subscription, re-read it from Shopify
    (sees cancellations and expiries made outside the app)."""
    if not app_state.config.billing:
        return {"skipped": "billing off"}
    with app_state.db.transaction() as session:
        shop_ids = session.execute(select(ShopBilling.shop_id).join(Shop, Shop.id == ShopBilling.shop_id).where(
            Shop.installed.is_(True), ShopBilling.subscription_gid.is_not(None),
            (ShopBilling.synced_at.is_(None)) | (ShopBilling.synced_at <= now - RESYNC_EVERY))).scalars().all()
    synced = failed = 0
    for shop_id in shop_ids:
        try:
            sync_subscription(app_state, shop_id, now)
            synced += 1
        except (ShopifyError, ShopNotInstalled) as exc:
            log.warning("billing sync failed: %s", type(exc).__name__, extra={"shop_id": shop_id})
            failed += 1
    return {"synced": synced, "failed": failed}
