"""Chapter: shoppers sign up; customers/create and their consent arrive as signed webhooks.

Payloads are shaped as Shopify sends them today: customers/create carries neither consent
(its own topic since API 2025-01) nor a language (read once over the Admin API)."""
from __future__ import annotations

from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.models import Customer, Shop
from plugin.shops.customer_sync import check_unseen_customers

SHOPPERS = [
    {"id": 7390000000000001, "email": "valentina@example.cl", "first_name": "Valentina", "last_name": "Rojas",
     "locale": "es-CL", "state": "subscribed"},
    {"id": 7390000000000002, "email": "joao@example.com.br", "first_name": "João", "last_name": "Silva",
     "locale": "pt-BR", "state": "subscribed"},
    {"id": 7390000000000003, "email": "emma@example.com", "first_name": "Emma", "last_name": "Brown",
     "locale": "en", "state": "not_subscribed"},
]


def customer_payload(shopper: dict, updated_at: str) -> dict:
    return {"id": shopper["id"], "email": shopper["email"], "first_name": shopper["first_name"],
            "last_name": shopper["last_name"], "created_at": updated_at,
            "updated_at": updated_at, "currency": "CLP", "verified_email": True, "state": "enabled",
            "admin_graphql_api_id": f"gid://shopify/Customer/{shopper['id']}"}


def consent_payload(shopper: dict, updated_at: str) -> dict:
    """customers_email_marketing_consent/update, as Shopify documents it."""
    return {"customer_id": shopper["id"], "email_address": shopper["email"],
            "email_marketing_consent": {"state": shopper["state"], "opt_in_level": "single_opt_in",
                                        "consent_updated_at": updated_at}}


def _known_to_shopify(stage, shopper: dict) -> None:
    """The fake Admin API knows each shopper's language and consent, as Shopify would."""
    stage.fake.customers[str(shopper["id"])] = {
        "email": shopper["email"], "firstName": shopper["first_name"], "lastName": shopper["last_name"],
        "locale": shopper["locale"], "numberOfOrders": "0",
        "emailMarketingConsent": {"marketingState": shopper["state"].upper(), "marketingOptInLevel": "SINGLE_OPT_IN",
                                  "consentUpdatedAt": stage.now.isoformat()}}


def run(stage) -> None:
    stage.title("2. Shoppers create accounts (customers/create webhooks)")
    for shopper in SHOPPERS:
        _known_to_shopify(stage, shopper)
        answer = stage.webhook("customers/create", customer_payload(shopper, stage.now.isoformat()),
                               event_id=f"demo-customer-{shopper['id']}")
        stage.webhook("customers_email_marketing_consent/update", consent_payload(shopper, stage.now.isoformat()),
                      event_id=f"demo-consent-{shopper['id']}")
        stage.shopify_ids[shopper["first_name"]] = str(shopper["id"])
        stage.say(f"{shopper['first_name']:10} (marketing {shopper['state']}, on its own topic) → 200, "
                  f"stored as delivery {answer['delivery_id']}")
    with stage.app.app_context():
        looked_up = check_unseen_customers(stage.app_state, stage.now)
    stage.say(f"each new shopper's language read once from the Admin API: {looked_up['checked']} customers")
    replay = stage.webhook("customers/create", customer_payload(SHOPPERS[0], stage.now.isoformat()),
                           event_id=f"demo-customer-{SHOPPERS[0]['id']}")
    stage.say(f"Shopify retries Valentina's delivery with the same event id → {replay['status']}")
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        rows = session.execute(Customer.for_shop(shop.id).order_by(Customer.id)).scalars().all()
        stage.say(f"customers table: {len(rows)} rows — "
                  + ", ".join(f"{c.first_name} [{c.marketing_state}]" for c in rows))
