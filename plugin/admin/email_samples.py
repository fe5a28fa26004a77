"""Sample data for previewing and test-sending every email flow (no customer's data in it)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from emails.content.context import SURVEY_SIZES, CartItem
from emails.content.flows import get_flow
from emails.content.formatting import Discount, Money
from plugin.loyalty.rules.money import quantize
from plugin.loyalty.rules.program import _UNIT_SCALE

SAMPLE_NAME = {"es": "Valentina", "en": "Olivia", "pt": "Beatriz"}


def sample_context(flow_name: str, shop_name: str, shop_url: str, currency: str, lang: str,
                   admin_url: str) -> dict[str, Any]:
    """A complete context for ``flow_name`` in the shop's currency."""
    flow = get_flow(flow_name)
    unit = Decimal(_UNIT_SCALE.get(currency, 1))

    def money(units: int) -> Money:
        return Money(quantize(unit * units, currency), currency)

    soon = date.today() + timedelta(days=30)
    ctx: dict[str, Any] = {"shop_name": shop_name, "shop_url": shop_url,
                           "customer_first_name": SAMPLE_NAME.get(lang, "Olivia")}
    if flow.loyalty:
        ctx.update(points_balance=1250, tier_name="Plata", next_tier_name="Oro", next_tier_metric="spend",
                   next_tier_remaining=money(80), tier_progress_percent=60)
    if flow.marketing:
        ctx["unsubscribe_url"] = f"{shop_url}/unsubscribe-preview"
    items = [CartItem("Café de especialidad 250 g", 2, money(12)), CartItem("Taza esmaltada", 1, money(9))]
    cart = {"items": items,
            "cart_total": money(33), "recovery_url": f"{shop_url}/checkouts/preview", "cart_points": 33,
            "incentive_code": "VUELVE-PREVIEW", "incentive": Discount("percentage", Decimal(10))}
    survey = "nps"
    per_flow: dict[str, dict[str, Any]] = {
        "welcome": {"signup_points": 100, "program_url": shop_url},
        "points_earned": {"points_earned": 45, "order_name": "#1001", "points_available_on": soon},
        "reward_available": {"reward_name": "Envío gratis", "reward_cost": 300, "redeem_url": shop_url},
        "tier_changed": {"direction": "up", "previous_tier_name": "Bronce", "tier_benefits": ["x1.25"]},
        "expiry_warning": {"expiring_points": 300, "expires_on": soon},
        "expiry_last_chance": {"expiring_points": 300, "expires_on": soon},
        "birthday": {"birthday_points": 200, "birthday_code": None, "birthday_discount": None},
        "referral_invite": {"referral_url": f"{shop_url}/r/PREVIEW",
                            "friend_reward": Discount("percentage", Decimal(10)), "advocate_points": 500},
        "referral_reward": {"points_awarded": 500, "friend_first_name": "Camila"},
        "feedback_request": {"order_name": "#1001", "survey_type": survey,
                             "survey_urls": [f"{shop_url}/survey-preview?score={i}"
                                             for i in range(SURVEY_SIZES[survey])]},
        "win_back": {"discount_code": "VUELVE10", "discount": Discount("percentage", Decimal(10)),
                     "code_expires_on": soon},
        "abandoned_checkout_1": cart, "abandoned_checkout_2": cart, "abandoned_checkout_3": cart,
        "data_request_received": {"customer_reference": "7390000000000001", "due_on": soon,
                                  "exports_url": f"{admin_url}/complaints"},
        "webhook_endpoint_disabled": {"endpoint_url": "https://hooks.example.com/embajador", "failing_since": soon,
                                      "last_error": "HTTP 503", "webhooks_url": f"{admin_url}/webhooks"},
        "complaint_opened": {"customer_name": "Camila Díaz", "customer_email": "camila@example.com",
                             "survey_type": survey, "score": 3, "case_url": f"{admin_url}/complaints",
                             "order_name": "#1001", "comment": "El pedido llegó tarde."},
    }
    ctx.update(per_flow[flow_name])
    return ctx
