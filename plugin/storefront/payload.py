"""The JSON shapes of GET /proxy/customer: the shopper's status, or the explainer for guests."""
from __future__ import annotations

import importlib
from datetime import datetime

from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program, dump_program
from plugin.models import Customer, Shop
from plugin.loyalty.status import customer_status, shop_program


def _number(value) -> str:
    return format(value, "f") if value is not None else None


def rewards_payload(program: Program, available: int | None) -> list[dict]:
    return [{"id": r.id, "name": r.name, "cost": r.cost, "type": r.type, "value": _number(r.value),
             "min_subtotal": _number(r.min_subtotal),
             "affordable": available is not None and r.cost <= available}
            for r in sorted(program.rewards, key=lambda r: (r.cost, r.id))]


def explainer_payload(shop: Shop) -> dict:
    """For a guest: how the program works, nothing personal."""
    program = shop_program(shop)
    doc = dump_program(program)
    return {"customer": None, "points": None, "tier": None, "next_tier": None,
            "rewards": rewards_payload(program, None), "referral": None,
            "program": {"earn": doc["earn"], "actions": doc.get("actions"),
                        "tiers": [{"name": t["name"], "threshold": t["threshold"], "multiplier": t.get("multiplier")}
                                  for t in doc.get("tiers", [])]},
            "currency": shop.currency, "locale": shop.primary_locale}


def _referral(session, shop: Shop, customer: Customer, app_url: str):
    try:
        links = importlib.import_module("plugin.referrals.links")
    except ModuleNotFoundError:
        return None
    link = getattr(links, "referral_link", None)
    return link(session, shop, customer, app_url) if link else None


def customer_payload(session, shop: Shop, customer: Customer, now: datetime, app_url: str) -> dict:
    program = shop_program(shop)
    status = customer_status(session, shop, customer, now, program)
    next_tier = None
    if status.next_tier is not None:
        remaining = status.next_tier.remaining
        remaining = remaining.amount if isinstance(remaining, Money) else remaining
        next_tier = {"name": status.next_tier.name, "metric": status.next_tier.metric,
                     "remaining": _number(remaining) if status.next_tier.metric == "spend" else int(remaining),
                     "progress_percent": status.progress_percent}
    return {"customer": {"id": customer.shopify_id, "first_name": customer.first_name},
            "points": {"available": status.available, "pending": status.pending},
            "tier": {"name": status.tier_name} if status.tier_name else None,
            "next_tier": next_tier,
            "rewards": rewards_payload(program, status.available),
            "referral": _referral(session, shop, customer, app_url),
            "codes": _usable_codes(session, shop, customer, now),
            "currency": shop.currency, "locale": customer.locale or shop.primary_locale}


def _usable_codes(session, shop: Shop, customer: Customer, now: datetime) -> list[dict]:
    """Reward codes the shopper has and can still use (also those whose redemption was
    interrupted and later settled: the shopper finds them here)."""
    from sqlalchemy import or_

    from plugin.models import Redemption
    from plugin.models.rewards import ISSUED
    rows = session.execute(Redemption.for_shop(shop.id).where(
        Redemption.customer_id == customer.id, Redemption.status == ISSUED, Redemption.used_at.is_(None),
        or_(Redemption.expires_at.is_(None), Redemption.expires_at > now)).order_by(Redemption.id)).scalars()
    return [{"code": r.code, "reward_id": r.reward_id, "reward_name": r.reward_name,
             "expires_at": r.expires_at.isoformat() if r.expires_at else None} for r in rows]
