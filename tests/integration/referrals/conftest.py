"""Shared setup for the referral tests: a shop, a fake Shopify, advocates, order payloads."""
from __future__ import annotations

import itertools

import pytest
import responses
from sqlalchemy import select

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Customer, CustomerEvent, LedgerEntry, Referral, ReferralClick
from plugin.referrals.links import referral_link
from tests.conftest import API_KEY, API_SECRET
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP, fixture_payload, post_webhook

_ORDER_IDS = itertools.count(6100000000000001)
ADVOCATE = {"id": 7400000000000001, "email": "valentina.rojas@gmail.com", "first_name": "Valentina",
            "last_name": "Rojas", "ip": "203.0.113.7", "ua": "Mozilla/5.0 (iPhone) Valentina",
            "address": {"address1": "Av. Providencia 1234", "city": "Santiago", "zip": "7500000",
                        "country_code": "CL"}}
FRIEND = {"id": 7400000000000002, "email": "martina@example.cl", "first_name": "Martina", "last_name": "Soto",
          "ip": "198.51.100.20", "ua": "Mozilla/5.0 (Android) Martina",
          "address": {"address1": "Calle Larga 55", "city": "Valparaíso", "zip": "2340000", "country_code": "CL"}}


def order_payload(person: dict, *, codes=(), attrs=(), order_id=None, financial_status="paid",
                  subtotal="50.00", landing_site=None) -> dict:
    """An orders/paid body shaped like Shopify's (see fixtures/shopify/webhooks/orders__paid.json)."""
    order_id = order_id or next(_ORDER_IDS)
    money = {"shop_money": {"amount": subtotal, "currency_code": "USD"},
             "presentment_money": {"amount": subtotal, "currency_code": "USD"}}
    customer = {"id": person["id"], "email": person["email"], "first_name": person["first_name"],
                "last_name": person["last_name"]}
    return {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#{order_id % 10000}",
            "email": person["email"], "created_at": "2026-11-20T12:00:00-03:00",
            "processed_at": "2026-11-20T12:00:00-03:00", "currency": "USD", "financial_status": financial_status,
            "subtotal_price": subtotal, "subtotal_price_set": money, "total_price": subtotal, "taxes_included": False,
            "discount_codes": [{"code": c, "amount": "5.00", "type": "percentage"} for c in codes],
            "note_attributes": [{"name": k, "value": v} for k, v in attrs], "browser_ip": person.get("ip"),
            "client_details": {"browser_ip": person.get("ip"), "user_agent": person.get("ua")},
            "landing_site": landing_site, "source_name": "web", "customer": customer,
            "shipping_address": dict(person.get("address") or {}, first_name=person["first_name"],
                                     last_name=person["last_name"]) if person.get("address") else None,
            "line_items": [], "test": False, "cancelled_at": None}


def refund_payload(order_id: int) -> dict:
    refund = fixture_payload("refunds__create.json")
    refund.update(id=order_id + 77, order_id=order_id)
    return refund


def pay(client, person: dict, event_id: str | None = None, **kwargs) -> dict:
    """POST a signed orders/paid for ``person`` and return the payload sent."""
    payload = order_payload(person, **kwargs)
    response = post_webhook(client, "orders/paid", payload, event_id=event_id)
    assert response.status_code == 200
    return payload


def advocate_with_history(client, app_state, person: dict = ADVOCATE) -> dict:
    """The advocate buys once (so we know her device/address), then gets her link."""
    pay(client, person)
    with app_state.db.transaction() as session:
        customer = session.execute(select(Customer).where(Customer.shopify_id == str(person["id"]))).scalar_one()
        from plugin.models import Shop
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        link = referral_link(session, shop, customer, app_state.config.app_url)
        return dict(link, customer_id=customer.id)


def land(client, code: str, person: dict):
    return client.get(f"/r/{code}", headers={"User-Agent": person["ua"]}, environ_base={"REMOTE_ADDR": person["ip"]})


def friend_code_from(response) -> str:
    location = response.headers["Location"]
    return location.split("/discount/")[1].split("?")[0]


def referrals(app_state) -> list[Referral]:
    with app_state.db.transaction() as session:
        return session.execute(select(Referral).order_by(Referral.id)).scalars().all()


def clicks(app_state) -> list[ReferralClick]:
    with app_state.db.transaction() as session:
        return session.execute(select(ReferralClick).order_by(ReferralClick.id)).scalars().all()


def referral_entries(app_state, customer_id: int) -> list[LedgerEntry]:
    with app_state.db.transaction() as session:
        return session.execute(select(LedgerEntry).where(LedgerEntry.customer_id == customer_id,
                                                         LedgerEntry.key.like("referral:%"))
                               .order_by(LedgerEntry.id)).scalars().all()


def customer(app_state, customer_id: int) -> Customer:
    with app_state.db.transaction() as session:
        return session.get(Customer, customer_id)


def events(app_state, kind: str) -> list[CustomerEvent]:
    with app_state.db.transaction() as session:
        return session.execute(select(CustomerEvent).where(CustomerEvent.kind == kind)
                               .order_by(CustomerEvent.id)).scalars().all()


@pytest.fixture
def shop_fake(app_state):
    """An installed shop whose Admin API is a FakeShopify (records the discounts created)."""
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP
    add_shop(app_state)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, "https://admin.shopify.test")
        yield fake
