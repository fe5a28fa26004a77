"""A customers/data_request emails the store owner once, with the 30-day due date, in the shop's
language; the admin lists the export with that due date."""
from __future__ import annotations

from sqlalchemy import select

from plugin.models import OutboxMessage, Shop
from tests.integration.admin.admin_support import auth
from tests.integration.conftest import add_shop
from tests.integration.webhooks.test_compliance import compliance_body
from tests.shopify_requests import SHOP, post_webhook


def _merchant_mail(app_state):
    with app_state.db.transaction() as session:
        return [(m.to_email, m.locale, m.subject, m.text) for m in session.execute(
            select(OutboxMessage).where(OutboxMessage.flow == "data_request_received")).scalars()]


def test_the_merchant_is_emailed_once_with_the_due_date(client, app_state):
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.primary_locale = "es"
        shop.settings = {"emails": {"merchant_email": "dueno@tienda.test"}}
    body = compliance_body("customers__data_request.json")
    post_webhook(client, "customers/data_request", body, event_id="dr-1")
    post_webhook(client, "customers/data_request", body, event_id="dr-1")  # a replay
    mails = _merchant_mail(app_state)
    assert len(mails) == 1
    to, locale, subject, text = mails[0]
    export = client.get("/api/data-exports", headers=auth(SHOP)).get_json()["exports"][0]
    due = export["due_at"][:10]
    assert (to, locale) == ("dueno@tienda.test", "es")
    assert subject.startswith("Solicitud de datos de un cliente")
    assert "Shopify da 30 días" in text and "/complaints" in text
    assert due[:4] in subject or due[:4] in text


def test_no_merchant_address_means_no_email_but_the_export_is_kept(client, app_state):
    add_shop(app_state)
    post_webhook(client, "customers/data_request", compliance_body("customers__data_request.json"))
    assert _merchant_mail(app_state) == []
    assert len(client.get("/api/data-exports", headers=auth(SHOP)).get_json()["exports"]) == 1
