"""Realistic contexts for every flow: a Chilean shop paying in CLP, with a
customer half-way from Plata to Oro."""
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from emails.content.context import CartItem
from emails.content.formatting import Discount, Money

FIXTURES = Path("/work/shared/fixtures/sendgrid")

LOYALTY = {
    "points_balance": 12500,
    "tier_name": "Plata",
    "next_tier_name": "Oro",
    "next_tier_metric": "spend",
    "next_tier_remaining": Money(Decimal("45000"), "CLP"),
    "tier_progress_percent": 62,
}

COMMON = {
    "shop_name": "Café Altiplano",
    "shop_url": "https://cafe-altiplano.myshopify.com",
    "customer_first_name": "Valentina",
    "country": "CL",
}

UNSUBSCRIBE = {"unsubscribe_url": "https://app.example.com/u/tok123?shop=cafe-altiplano.myshopify.com"}

CART = {
    "items": [
        CartItem("Café de especialidad 250 g", 2, Money(Decimal("8990"), "CLP"),
                 "https://cdn.shopify.com/s/files/cafe.jpg", "Molido"),
        CartItem("Taza de cerámica", 1, Money(Decimal("12500"), "CLP")),
    ],
    "cart_total": Money(Decimal("30480"), "CLP"),
    "recovery_url": "https://cafe-altiplano.myshopify.com/checkouts/abc123/recover?key=k1",
    "cart_points": 30,
    "incentive_code": None,
    "incentive": None,
}

PER_FLOW = {
    "welcome": {"signup_points": 100, "program_url": "https://cafe-altiplano.myshopify.com/pages/puntos"},
    "points_earned": {"points_earned": 350, "order_name": "#1042",
                      "points_available_on": dt.date(2026, 3, 15)},
    "reward_available": {"reward_name": "$5.000 de descuento", "reward_cost": 500,
                         "redeem_url": "https://cafe-altiplano.myshopify.com/apps/embajador/redeem"},
    "tier_changed": {"direction": "up", "previous_tier_name": "Bronce",
                     "tier_benefits": ["Envío gratis", "Puntos x1,25"]},
    "expiry_warning": {"expiring_points": 1800, "expires_on": dt.date(2026, 4, 30)},
    "expiry_last_chance": {"expiring_points": 1800, "expires_on": dt.date(2026, 4, 30)},
    "birthday": {"birthday_points": 200, "birthday_code": "CUMPLE-7QX2",
                 "birthday_discount": Discount("percentage", Decimal("15"))},
    "referral_invite": {"referral_url": "https://app.example.com/r/VALE42",
                        "friend_reward": Discount("percentage", Decimal("10")), "advocate_points": 500},
    "referral_reward": {"points_awarded": 500, "friend_first_name": "Camila"},
    "feedback_request": {"order_name": "#1042", "survey_type": "nps",
                         "survey_urls": [f"https://app.example.com/s/1042/{i}?sig=s{i}" for i in range(11)]},
    "win_back": {"discount_code": "VUELVE-K9P3", "discount": Discount("fixed_amount", Decimal("5000"), "CLP"),
                 "code_expires_on": dt.date(2026, 5, 31)},
    "abandoned_checkout_1": CART,
    "abandoned_checkout_2": CART,
    "abandoned_checkout_3": dict(CART, incentive_code="CARRITO-10",
                                 incentive=Discount("percentage", Decimal("10"))),
    "complaint_opened": {"customer_name": "Valentina Rojas", "customer_email": "valentina@example.com",
                         "survey_type": "nps", "score": 3, "case_url": "https://app.example.com/admin/cases/77",
                         "order_name": "#1042", "comment": "El pedido llegó con la bolsa rota."},
    "data_request_received": {"customer_reference": "7390000000000001", "due_on": dt.date(2026, 12, 29),
                              "exports_url": "https://app.example.com/complaints"},
    "webhook_endpoint_disabled": {"endpoint_url": "https://hooks.example.com/embajador",
                                  "failing_since": dt.date(2026, 12, 1), "last_error": "HTTP 503",
                                  "webhooks_url": "https://app.example.com/webhooks"},
}


def build_context(flow_name: str) -> dict:
    """A complete, realistic context for ``flow_name``."""
    from emails.content.flows import get_flow

    flow = get_flow(flow_name)
    ctx = dict(COMMON)
    if flow.loyalty:
        ctx.update(LOYALTY)
    if flow.marketing:
        ctx.update(UNSUBSCRIBE)
    ctx.update(PER_FLOW[flow_name])
    return ctx


@pytest.fixture
def context_for():
    """A function giving a fresh, complete, realistic context for a flow."""
    return build_context


@pytest.fixture
def mail_send_validator():
    """A jsonschema validator for SendGrid's POST /v3/mail/send body, built
    from the vendor's OpenAPI 3.1 document (JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = json.loads((FIXTURES / "openapi_mail_send.json").read_text())
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:sendgrid-openapi", resource)
    schema = {"$ref": "urn:sendgrid-openapi#/components/requestBodies/PostMailSend/content/application~1json/schema"}
    return Draft202012Validator(schema, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)
