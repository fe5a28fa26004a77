"""The JSON shapes of GET /proxy/customer: the shopper's status, or the explainer for guests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program, dump_program
from plugin.loyalty.status import customer_status, shop_program
from plugin.models import Customer, Redemption, Shop
from plugin.referrals.links import referral_link
from plugin.storefront.activity import next_release_at, recent_activity
from plugin.storefront.reads import ShopperFacts, usable_code_conditions


def _number(value) -> str:
    return format(value, "f") if value is not None else None


def rewards_payload(program: Program, available: int | None) -> list[dict]:
    return [dict(reward, affordable=available is not None and reward["cost"] <= available)
            for reward in _program_view(program)[1]]


# Program objects are immutable and shop_program hands back the same one for the same
# document, so what the widget shows of a program is built once per program version per
# process, keyed by identity (hashing a Program walks all of it). Bounded like _loaded.
_VIEWS: dict[int, tuple[Program, dict, tuple[dict, ...]]] = {}


def _program_view(program: Program) -> tuple[dict, tuple[dict, ...]]:
    cached = _VIEWS.get(id(program))
    if cached is None or cached[0] is not program:
        if len(_VIEWS) >= 256:
            _VIEWS.clear()
        rewards = tuple({"id": r.id, "name": r.name, "cost": r.cost, "type": r.type, "value": _number(r.value),
                         "min_subtotal": _number(r.min_subtotal)}
                        for r in sorted(program.rewards, key=lambda r: (r.cost, r.id)))
        cached = _VIEWS[id(program)] = (program, _build_program_payload(program), rewards)
    return cached[1], cached[2]


def program_payload(program: Program) -> dict:
    """How the program works (the widget's explainer and the rewards page): earning, actions,
    tiers with their benefits, what a referral gives. Shared between answers: don't mutate."""
    return _program_view(program)[0]


def _build_program_payload(program: Program) -> dict:
    doc = dump_program(program)
    referral = doc.get("referral")
    return {"earn": doc["earn"], "actions": doc.get("actions"),
            "tiers": [{"name": t["name"], "threshold": t["threshold"], "multiplier": t.get("multiplier"),
                       "entry_points": t.get("entry_points", 0)} for t in doc.get("tiers", [])],
            "referral": {"friend": referral["friend"], "advocate_points": referral["advocate_points"]}
            if referral else None}


def explainer_payload(shop: Shop) -> dict:
    """For a guest: how the program works, nothing personal."""
    program = shop_program(shop)
    return {"customer": None, "points": None, "tier": None, "next_tier": None,
            "rewards": rewards_payload(program, None), "referral": None,
            "program": program_payload(program),
            "currency": shop.currency, "locale": shop.primary_locale}


def customer_payload(session, shop: Shop, customer: Customer, now: datetime, app_url: str,
                     facts: ShopperFacts | None = None, program: Program | None = None) -> dict:
    """``facts``: read with the customer row (storefront/reads.py) for ``program``'s tier
    period at ``now``; without them each is read here."""
    program = program or shop_program(shop)
    status = customer_status(session, shop, customer, now, program, facts.metrics if facts else None)
    next_tier = None
    if status.next_tier is not None:
        remaining = status.next_tier.remaining
        remaining = remaining.amount if isinstance(remaining, Money) else remaining
        next_tier = {"name": status.next_tier.name, "metric": status.next_tier.metric,
                     "remaining": _number(remaining) if status.next_tier.metric == "spend" else int(remaining),
                     "progress_percent": status.progress_percent}
    release_at = facts.next_release_at if facts else next_release_at(session, customer, now)
    return {"customer": {"id": customer.shopify_id, "first_name": customer.first_name,
                         "birthday_saved": customer.birthday is not None},
            "points": {"available": status.available, "pending": status.pending,
                       "pending_release_at": release_at.isoformat() if release_at else None},
            "tier": {"name": status.tier_name} if status.tier_name else None,
            "next_tier": next_tier,
            "rewards": rewards_payload(program, status.available),
            "referral": referral_link(session, shop, customer, app_url, facts.referral_counts if facts else None),
            "codes": _usable_codes(session, shop, customer, now) if facts is None or facts.has_usable_codes else [],
            "activity": facts.activity if facts and facts.activity is not None
            else recent_activity(session, customer, now),
            "program": program_payload(program),
            "currency": shop.currency, "locale": customer.locale or shop.primary_locale}


def _usable_codes(session, shop: Shop, customer: Customer, now: datetime) -> list[dict]:
    """Reward codes the shopper has and can still use (also those whose redemption was
    interrupted and later settled: the shopper finds them here)."""
    rows = session.execute(_USABLE_CODES, {"shop_id": shop.id, "customer_id": customer.id, "now": now})
    return [{"code": r.code, "reward_id": r.reward_id, "reward_name": r.reward_name,
             "expires_at": r.expires_at.isoformat() if r.expires_at else None} for r in rows]


# Built once, and only the four columns shown: the widget asks on every page view
# (bench/RESULTS.md, App Proxy read).
_USABLE_CODES = (
    select(Redemption.code, Redemption.reward_id, Redemption.reward_name, Redemption.expires_at)
    .where(*usable_code_conditions(bindparam("customer_id")))
    .order_by(Redemption.id))
