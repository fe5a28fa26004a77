"""Three starting programs a merchant picks from at onboarding, in the shop's currency and
language: simple points, points + VIP tiers, referrals first."""
from __future__ import annotations

from decimal import Decimal

from plugin.loyalty.rules.earning import points_for_order
from plugin.loyalty.rules.money import Money, quantize
from plugin.loyalty.rules.program import default_program, dump_program, load_program, program_language

PRESETS = ("simple", "vip", "referrals")
_TIER_NAMES = {"es": ("Bronce", "Plata", "Oro"), "en": ("Bronze", "Silver", "Gold"),
               "pt": ("Bronze", "Prata", "Ouro")}


def preset_document(name: str, currency: str, locale: str | None) -> dict:
    """The program document for preset ``name`` (KeyError for an unknown one)."""
    if name not in PRESETS:
        raise KeyError(name)
    doc = dump_program(default_program(currency, locale))
    names = _TIER_NAMES[program_language(locale)]
    for tier, tier_name in zip(doc["tiers"], names, strict=False):
        tier["name"] = tier_name
    if name == "simple":
        doc["tiers"] = []
        doc["referral"] = None
    elif name == "referrals":
        doc["referral"]["advocate_points"] = 1000
        doc["referral"]["friend"] = {"type": "percentage", "value": "15"}
        doc["tiers"] = [doc["tiers"][0],
                        dict(doc["tiers"][1], threshold={"metric": "referrals", "value": 1}),
                        dict(doc["tiers"][2], threshold={"metric": "referrals", "value": 5})]
    return doc


def sample_earnings(doc: dict, currency: str) -> list[dict]:
    """How a sample order earns in each tier (the editor's preview): the points a customer
    gets for an order worth 50 earn units (e.g. 50 × per_amount) and what they unlock."""
    program = load_program(doc)
    order = quantize(program.earn.per_amount * 50, currency)
    tiers = program.tiers or ()
    rows = []
    for tier in tiers or (None,):
        multiplier = tier.multiplier if tier else Decimal(1)
        points = points_for_order(Money(order, currency), program, multiplier).points
        cheapest = min((r for r in program.rewards), key=lambda r: r.cost, default=None)
        rows.append({"tier": tier.name if tier else None, "order_total": format(order, "f"), "points": points,
                     "orders_to_first_reward": (-(-cheapest.cost // points) if cheapest and points else None),
                     "first_reward": cheapest.name if cheapest else None})
    return rows
