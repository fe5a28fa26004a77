"""Attack 2: the shop header and topic are outside the HMAC. A compliance body signed for
one shop, replayed with another shop's header, must change nothing; shop/redact must not
erase a shop that is still installed."""
from __future__ import annotations

import json

from sqlalchemy import select

from plugin.models import Customer, CustomerDataExport, Shop, WebhookDelivery
from tests.integration.conftest import add_shop
from tests.integration.security.conftest import send
from tests.shopify_requests import SHOP, fixture_payload, post_webhook

VICTIM_SHOP = "victim-store.myshopify.com"
ATTACKER_SHOP = "attacker-store.myshopify.com"


def _body(name: str, shop_domain: str) -> bytes:
    payload = fixture_payload(name)
    payload["shop_domain"] = shop_domain
    return json.dumps(payload, default=str).encode()


def _statuses(app_state, topic: str) -> list[tuple[str, str | None]]:
    with app_state.db.transaction() as session:
        rows = session.execute(select(WebhookDelivery.status, WebhookDelivery.last_error)
                               .where(WebhookDelivery.topic == topic)).all()
        return [tuple(r) for r in rows]


def _shops(app_state) -> list[str]:
    with app_state.db.transaction() as session:
        return sorted(session.execute(select(Shop.domain)).scalars())


def test_shop_redact_for_one_shop_replayed_with_another_shops_header_erases_nothing(client, app_state, fake_admin):
    add_shop(app_state, domain=VICTIM_SHOP, installed=False)
    add_shop(app_state, domain=ATTACKER_SHOP, installed=False)
    body = _body("shop__redact.json", ATTACKER_SHOP)  # genuinely signed for the attacker's own shop
    assert post_webhook(client, "shop/redact", body, shop=VICTIM_SHOP).status_code == 200
    assert VICTIM_SHOP in _shops(app_state)
    expected = ("rejected", "body shop_domain does not match X-Shopify-Shop-Domain")
    assert _statuses(app_state, "shop/redact") == [expected]


def test_shop_redact_of_a_shop_still_installed_erases_nothing(client, app_state, fake_admin):
    add_shop(app_state, domain=SHOP, installed=True)
    assert post_webhook(client, "shop/redact", _body("shop__redact.json", SHOP)).status_code == 200
    assert _shops(app_state) == [SHOP]
    assert _statuses(app_state, "shop/redact") == [("rejected", "shop is still installed (its access token works)")]


def test_shop_redact_after_a_missed_uninstall_erases_once_shopify_refuses_the_token(client, app_state,
                                                                                     fake_admin):
    add_shop(app_state, domain=SHOP, installed=True)
    fake_admin.tokens.pop("shpat_test")  # Shopify revoked the token at uninstall
    assert post_webhook(client, "shop/redact", _body("shop__redact.json", SHOP)).status_code == 200
    assert _shops(app_state) == []


def test_customer_redact_and_data_request_with_another_shops_body_touch_nothing(client, app_state, fake_admin):
    add_shop(app_state, domain=SHOP)
    send(client, "customers/create", {"id": 191167, "email": "john@example.com", "first_name": "John",
                                      "updated_at": "2026-11-01T00:00:00Z"})
    for topic, name in (("customers/redact", "customers__redact.json"),
                        ("customers/data_request", "customers__data_request.json")):
        assert post_webhook(client, topic, _body(name, ATTACKER_SHOP)).status_code == 200
        assert [s for s, _ in _statuses(app_state, topic)] == ["rejected"]
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.email)).scalar_one() == "john@example.com"
        assert session.execute(select(CustomerDataExport)).first() is None
