"""What each flow's template needs, checked before rendering so a job fails
with the name of the missing key instead of sending a half-empty email.

Value types: counts of points/orders are ``int``; money is ``Money``; dates
are ``datetime.date``; rewards are ``Discount``; cart lines are ``CartItem``
(or dicts with the same keys). Any display value may be a ``SubstitutionTag``
when a batch fills it per recipient (see ``render.render_batch_email``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emails.content.flows import Flow
from emails.content.formatting import Money


class SubstitutionTag(str):
    """A placeholder SendGrid replaces per recipient; filters leave it as is."""


@dataclass(frozen=True)
class CartItem:
    """One line of an abandoned checkout."""

    title: str
    quantity: int
    price: Money
    image_url: str | None = None
    variant_title: str | None = None


class MissingContextError(KeyError):
    """A template variable the caller did not provide (or provided wrongly)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


COMMON = {"shop_name": "store name shown in the header", "shop_url": "storefront URL"}
COMMON_OPTIONAL = {"customer_first_name": "greeting; None gives a neutral greeting",
                   "country": "ISO country for number formats (CL, MX, BR...)"}
LOYALTY = {
    "points_balance": "int, available points now",
    "tier_name": "str or None (no tier yet)",
    "next_tier_name": "str or None (already at the top tier)",
}
LOYALTY_OPTIONAL = {
    "next_tier_metric": "spend | points | orders | referrals (needed with next_tier_name)",
    "next_tier_remaining": "Money for spend, int otherwise (needed with next_tier_name)",
    "tier_progress_percent": "int 0-100 for the progress bar",
}
MARKETING = {"unsubscribe_url": "one-click unsubscribe URL (or render.ASM_UNSUBSCRIBE_URL)"}

_CART = {
    "items": "list of CartItem(title, quantity, price: Money, image_url=None, variant_title=None)",
    "cart_total": "Money",
    "recovery_url": "Shopify abandonedCheckoutUrl",
    "cart_points": "int, points this cart would earn",
}
_CART_OPTIONAL = {"incentive_code": "str discount code or None", "incentive": "Discount or None",
                  **LOYALTY, **LOYALTY_OPTIONAL}

# flow -> (required keys, optional keys defaulting to None), beyond COMMON/LOYALTY/MARKETING
FLOW_CONTEXT: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "welcome": ({"signup_points": "int", "program_url": "URL of the program page"}, {}),
    "points_earned": ({"points_earned": "int", "order_name": "e.g. #1001"},
                      {"points_available_on": "date when pending points unlock, or None"}),
    "reward_available": ({"reward_name": "str", "reward_cost": "int points", "redeem_url": "URL"}, {}),
    "tier_changed": ({"direction": "up | down", "previous_tier_name": "str"},
                     {"tier_benefits": "list of str"}),
    "expiry_warning": ({"expiring_points": "int", "expires_on": "date"}, {}),
    "expiry_last_chance": ({"expiring_points": "int", "expires_on": "date"}, {}),
    "birthday": ({"birthday_points": "int"},
                 {"birthday_code": "str or None", "birthday_discount": "Discount or None"}),
    "referral_invite": ({"referral_url": "the customer's share link", "friend_reward": "Discount",
                         "advocate_points": "int points per successful referral"}, {}),
    "referral_reward": ({"points_awarded": "int"}, {"friend_first_name": "str or None"}),
    "feedback_request": ({"order_name": "str", "survey_type": "nps | csat | ces",
                          "survey_urls": "signed one-click URLs: 11 (NPS 0-10), 5 (CSAT 1-5) or 7 (CES 1-7)"},
                         {}),
    "win_back": ({"discount_code": "str", "discount": "Discount"},
                 {"code_expires_on": "date or None"}),
    "abandoned_checkout_1": (_CART, _CART_OPTIONAL),
    "abandoned_checkout_2": (_CART, _CART_OPTIONAL),
    "abandoned_checkout_3": (_CART, _CART_OPTIONAL),
    "data_request_received": ({"customer_reference": "the customer's Shopify id", "due_on": "date (30 days)",
                               "exports_url": "admin URL of the privacy exports"}, {}),
    "webhook_endpoint_disabled": ({"endpoint_url": "the endpoint's URL", "failing_since": "date",
                                   "webhooks_url": "admin URL of the webhooks page"},
                                  {"last_error": "str: the last answer or error"}),
    "complaint_opened": ({"customer_name": "str", "customer_email": "str", "survey_type": "nps | csat | ces",
                          "score": "int", "case_url": "admin URL of the case"},
                         {"order_name": "str or None", "comment": "str or None"}),
}

SURVEY_SIZES = {"nps": 11, "csat": 5, "ces": 7}


def required_keys(flow: Flow) -> dict[str, str]:
    """Every key ``flow`` needs, with what it means."""
    keys = dict(COMMON)
    if flow.loyalty:
        keys.update(LOYALTY)
    if flow.marketing:
        keys.update(MARKETING)
    keys.update(FLOW_CONTEXT[flow.name][0])
    return keys


def optional_keys(flow: Flow) -> dict[str, str]:
    """Keys ``flow`` reads if given; missing ones default to None."""
    keys = dict(COMMON_OPTIONAL)
    if flow.loyalty:
        keys.update(LOYALTY_OPTIONAL)
    keys.update(FLOW_CONTEXT[flow.name][1])
    return keys


def complete_context(flow: Flow, context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` with optional keys defaulted, after checking required ones."""
    missing = [k for k in required_keys(flow) if k not in context]
    if missing:
        raise MissingContextError(
            f"{flow.name} email needs context key(s) {', '.join(map(repr, missing))} "
            f"({'; '.join(f'{k}: {required_keys(flow)[k]}' for k in missing)})")
    full = {k: None for k in optional_keys(flow)}
    full.update(context)
    _check_values(flow, full)
    return full


def _check_values(flow: Flow, ctx: dict[str, Any]) -> None:
    def bad(key: str, why: str) -> MissingContextError:
        return MissingContextError(f"{flow.name} email: context key {key!r} {why}")

    if ctx.get("next_tier_name") and not isinstance(ctx["next_tier_name"], SubstitutionTag):
        for key in ("next_tier_metric", "next_tier_remaining"):
            if ctx.get(key) is None:
                raise bad(key, "is needed when next_tier_name is set")
    if flow.name == "tier_changed" and ctx["direction"] not in ("up", "down"):
        raise bad("direction", f"must be 'up' or 'down', not {ctx['direction']!r}")
    if "survey_type" in ctx and ctx["survey_type"] not in SURVEY_SIZES:
        raise bad("survey_type", f"must be one of {sorted(SURVEY_SIZES)}")
    if flow.name == "feedback_request":
        expected = SURVEY_SIZES[ctx["survey_type"]]
        if len(ctx["survey_urls"]) != expected:
            raise bad("survey_urls", f"needs {expected} URLs for {ctx['survey_type']}, "
                                     f"got {len(ctx['survey_urls'])}")
    if flow.name.startswith("abandoned_checkout") and not ctx["items"]:
        raise bad("items", "must list at least one cart line")
