"""Keeping a customer's cached tier right: after every change and in ``tick``.

Tier-ups pay the tier's ``entry_points`` once (tier_bonus key per tier) and every change
is a ``tier_changed`` event. Calendar years turn at midnight in the shop's timezone.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from plugin.loyalty.balances import lock_customer, record_event
from plugin.loyalty.posting import post
from plugin.loyalty.rules.ledger import Entry, tier_bonus_key
from plugin.loyalty.rules.program import Program
from plugin.loyalty.rules.tiers import ROLLING, evaluate_tier, previous_calendar_year
from plugin.loyalty.status import customer_activity, shop_program
from plugin.models import Customer, Shop
from plugin.outbound.outbox import emit_tier_changed
from plugin.rollups.store import tier_changed


def shop_local(shop: Shop, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(shop.iana_timezone)) if shop.iana_timezone else now
    except (KeyError, ValueError):
        return now


def reevaluate_tier(session, shop: Shop, customer: Customer, now: datetime, program: Program | None = None,
                    source: str = "schedule") -> dict | None:
    """Apply the tier the activity earns (caller holds the row lock); returns the change, if any."""
    program = program or shop_program(shop)
    if not program.tiers:
        return None
    local_now = shop_local(shop, now)
    activity = customer_activity(session, customer, shop.currency, since=_activity_since(program, customer, local_now))
    decision = evaluate_tier(program, activity, local_now, customer.tier_name, customer.tier_since)
    if not decision.changed:
        return None
    previous = customer.tier_name
    customer.tier_name, customer.tier_since = decision.new_tier, now
    tier_changed(session, shop.id, customer.shopify_id, previous, decision.new_tier)  # analytics: members per tier
    direction = decision.direction or "changed"
    tier = program.tier(decision.new_tier)
    if previous is None and tier is not None and _is_base_tier(program, tier):
        direction = "enter"  # a new member starts in the base tier: nothing to congratulate
    else:
        record_event(session, shop.id, customer.id, "tier_changed",
                     f"customer:{customer.id}:tier:{previous}->{decision.new_tier}:{now.isoformat()}", now,
                     {"direction": direction, "previous_tier_name": previous, "tier_name": decision.new_tier})
    # Integrations hear every change, a new member's base tier ("enter") included.
    emit_tier_changed(session, customer, previous, decision.new_tier, direction, now)
    if direction in ("up", "enter") and tier is not None and tier.entry_points > 0:
        post(session, program, customer, Entry(tier_bonus_key(customer.id, tier.name), "tier_bonus",
                                               available=tier.entry_points),
             reason=f"welcome bonus for reaching {tier.name}", source=source, occurred_at=now)
    return {"from": previous, "to": decision.new_tier, "direction": direction}


def _is_base_tier(program: Program, tier) -> bool:
    """The lowest tier, open to everyone (threshold 0)."""
    return tier.name == program.tiers[0].name and tier.threshold.value == 0


def _activity_since(program: Program, customer: Customer, local_now: datetime) -> datetime | None:
    """The oldest activity ``evaluate_tier`` can look at, so a long history is not read on
    every order: the previous calendar year, or a rolling year before the tier was reached."""
    if program.tier_period == "calendar_year":
        return previous_calendar_year(local_now)[0]
    if program.tier_period == "rolling_12_months":
        since = min(customer.tier_since or local_now, local_now)
        return since.astimezone(UTC) - ROLLING
    return None  # lifetime: every entry counts


def reevaluate_tiers_job(app_state, now: datetime) -> dict:
    """Tick task: downgrades when windows slide or years end (upgrades happen on change)."""
    changed = 0
    with app_state.db.transaction() as session:
        shops = session.execute(select(Shop.id).where(Shop.installed.is_(True))).scalars().all()
    for shop_id in shops:
        with app_state.db.transaction() as session:
            ids = session.execute(select(Customer.id).where(Customer.shop_id == shop_id,
                                                            Customer.tier_name.is_not(None))).scalars().all()
        for customer_id in ids:
            with app_state.db.transaction() as session:
                shop = session.get(Shop, shop_id)
                if reevaluate_tier(session, shop, lock_customer(session, customer_id), now):
                    changed += 1
    return {"changed": changed}
