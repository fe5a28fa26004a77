"""Shopify's mandatory privacy webhooks really export, redact and erase (checked in the tables)."""
from __future__ import annotations

import json

from sqlalchemy import func, select, text

from plugin.models import Base, Customer, CustomerDataExport, Shop, WebhookDelivery
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP, fixture_body, fixture_payload, post_webhook

CUSTOMER_ID = 191167  # the customer named in Shopify's compliance payload examples


def compliance_body(name: str) -> bytes:
    return fixture_body(name).replace(b"{shop}.myshopify.com", SHOP.encode())


def create_customer(client, shopify_id=CUSTOMER_ID, email="john@example.com"):
    payload = fixture_payload("customers__create.json")
    payload.update(id=shopify_id, email=email, first_name="John", last_name="Doe", phone="555-625-1199")
    assert post_webhook(client, "customers/create", json.dumps(payload, default=str).encode()).status_code == 200


def test_data_request_assembles_a_downloadable_record(client, app_state):
    add_shop(app_state)
    create_customer(client)
    assert post_webhook(client, "customers/data_request", compliance_body("customers__data_request.json")).status_code == 200
    with app_state.db.transaction() as session:
        export = session.execute(select(CustomerDataExport)).scalar_one()
        assert export.customer_shopify_id == str(CUSTOMER_ID) and export.data_request_id == "9999"
        assert export.data["found"] is True
        assert export.data["customer"]["email"] == "john@example.com"
        assert export.data["customer"]["first_name"] == "John"


def test_redact_erases_personal_data_everywhere(client, app_state):
    add_shop(app_state)
    create_customer(client)
    create_customer(client, shopify_id=555, email="other@example.com")
    post_webhook(client, "customers/data_request", compliance_body("customers__data_request.json"))
    assert post_webhook(client, "customers/redact", compliance_body("customers__redact.json")).status_code == 200
    with app_state.db.transaction() as session:
        redacted = session.execute(select(Customer).where(Customer.shopify_id == str(CUSTOMER_ID))).scalar_one()
        assert (redacted.email, redacted.first_name, redacted.last_name, redacted.phone_hash) == (None,) * 4
        assert redacted.redacted_at is not None
        other = session.execute(select(Customer).where(Customer.shopify_id == "555")).scalar_one()
        assert other.email == "other@example.com"  # nobody else is touched
        assert session.execute(select(func.count()).select_from(CustomerDataExport)).scalar_one() == 0
        payloads = session.execute(select(WebhookDelivery.payload)).scalars().all()
        # Search every text column of every table for the person: nothing left.
        for table in Base.metadata.sorted_tables:
            for column in table.c:
                if str(column.type).startswith(("VARCHAR", "TEXT", "JSON")):
                    hits = session.execute(text(f'SELECT count(*) FROM "{table.name}" WHERE CAST("{column.name}" AS TEXT) '
                                                "LIKE '%john@example.com%'")).scalar_one()
                    assert hits == 0, f"{table.name}.{column.name} still holds the email"
    assert any(p and "other@example.com" in p for p in payloads)


def test_redacted_customer_is_not_recreated_by_a_late_update(client, app_state):
    add_shop(app_state)
    create_customer(client)
    post_webhook(client, "customers/redact", compliance_body("customers__redact.json"))
    late = fixture_payload("customers__update.json")
    late.update(id=CUSTOMER_ID, email="john@example.com", updated_at="2030-01-01T00:00:00Z")
    post_webhook(client, "customers/update", json.dumps(late, default=str).encode())
    with app_state.db.transaction() as session:
        assert session.execute(select(Customer.email).where(Customer.shopify_id == str(CUSTOMER_ID))).scalar_one() is None


def test_shop_redact_deletes_all_of_the_shops_data(client, app_state):
    shop_id = add_shop(app_state)
    add_shop(app_state, domain="neighbour.myshopify.com")
    create_customer(client)
    post_webhook(client, "customers/create", fixture_body("customers__create.json"), shop="neighbour.myshopify.com")
    post_webhook(client, "app/uninstalled", fixture_body("app__uninstalled.json"))
    assert post_webhook(client, "shop/redact", compliance_body("shop__redact.json")).status_code == 200
    with app_state.db.transaction() as session:
        assert session.execute(select(Shop.domain)).scalars().all() == ["neighbour.myshopify.com"]
        assert session.execute(select(Customer.email)).scalars().all() == ["bob@biller.com"]
        for table in Base.metadata.sorted_tables:
            if "shop_id" in table.c:
                rows = session.execute(text(f'SELECT count(*) FROM "{table.name}" WHERE shop_id = :id'),
                                       {"id": shop_id}).scalar_one()
                assert rows == 0, table.name
        leftover = session.execute(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.shop_domain == SHOP, WebhookDelivery.payload.is_not(None))).scalar_one()
        assert leftover == 0
        kept = session.execute(select(WebhookDelivery).where(WebhookDelivery.topic == "shop/redact")).scalar_one()
        assert kept.status == "processed" and kept.shop_id is None  # the audit line stays, without data


def test_failed_deliveries_lose_their_payload_after_retention(client, app_state):
    from datetime import timedelta

    from plugin.models import utcnow
    from webhooks.retention import purge_processed_payloads
    add_shop(app_state)
    guest_order = b'{"id": 9001, "email": "ana.perez@example.com", "name": "Ana Perez", "total_price": '
    post_webhook(client, "orders/paid", guest_order)  # valid HMAC, broken JSON: recorded as failed
    assert purge_processed_payloads(app_state, utcnow())["purged"] == 0
    assert purge_processed_payloads(app_state, utcnow() + timedelta(days=15))["purged"] == 1
    with app_state.db.transaction() as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "failed" and delivery.payload is None and delivery.last_error


def test_redact_reaches_emails_about_the_customer_and_their_delivery_events(client, app_state):
    """The merchant's complaint notice, the customer's own emails and SendGrid's bounce detail."""
    from emails.delivery.outbox import queue_email
    from plugin.models import EmailEvent, OutboxMessage, utcnow
    add_shop(app_state)
    create_customer(client)
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        customer = session.execute(select(Customer).where(Customer.shopify_id == str(CUSTOMER_ID))).scalar_one()
        own = queue_email(session, shop=shop, flow="points_earned", message_key="t:own", to_email=customer.email,
                          customer=customer, context={"points_earned": 5, "order_name": "#1"})
        notice = queue_email(session, shop=shop, flow="complaint_opened", message_key="t:notice",
                             to_email="owner@shop.test", context={
                                 "customer_name": "John Doe", "customer_email": customer.email, "survey_type": "nps",
                                 "score": 2, "order_name": "#1", "comment": "late", "case_url": "https://x/1"})
        session.get(OutboxMessage, notice).about_customer_id = customer.id
        session.add(EmailEvent(sg_event_id="evt-bounce-1", shop_id=shop.id, outbox_id=own, event="bounce",
                               detail={"reason": "550 <john@example.com> rejected"}, occurred_at=utcnow()))
    post_webhook(client, "customers/redact", compliance_body("customers__redact.json"))
    with app_state.db.transaction() as session:
        for table in ("email_outbox", "email_events"):
            hits = session.execute(text(f"SELECT count(*) FROM {table} WHERE CAST({table} AS TEXT) "
                                        "LIKE '%john%'")).scalar_one()
            assert hits == 0, f"{table} still mentions the customer"
        assert session.execute(select(OutboxMessage.to_email).where(OutboxMessage.id == notice)).scalar_one() is None
