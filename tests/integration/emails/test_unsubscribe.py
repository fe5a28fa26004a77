"""The unsubscribe link in marketing emails: a click asks, a confirmation (or RFC 8058 POST) acts."""
from __future__ import annotations

from sqlalchemy import select

from emails.delivery.unsubscribe import unsubscribe_url
from plugin.models import Customer, Shop
from tests.integration.conftest import add_shop
from tests.shopify_requests import consent_payload, fixture_payload, post_webhook


def subscribed_customer(client, app_state):
    add_shop(app_state)
    payload = fixture_payload("customers__create.json")
    post_webhook(client, "customers/create", payload)
    post_webhook(client, "customers_email_marketing_consent/update",
                 consent_payload(payload["id"], payload["email"], "subscribed"))
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        customer = session.execute(select(Customer)).scalar_one()
        customer.locale = "es-CL"  # what Shopify's Customer.locale says (read over GraphQL)
        return unsubscribe_url(app_state.config.secret_key, app_state.config.app_url, shop, customer).split("embajador.test", 1)[1]


def consent(app_state) -> str:
    with app_state.db.transaction() as session:
        return session.execute(select(Customer.marketing_state)).scalar_one()


def test_a_prefetched_link_changes_nothing_and_the_button_unsubscribes(client, app_state):
    path = subscribed_customer(client, app_state)
    page = client.get(path)
    assert page.status_code == 200 and "Darme de baja" in page.get_data(as_text=True)
    assert consent(app_state) == "SUBSCRIBED"  # a mail scanner's GET must not unsubscribe anyone
    done = client.post(path)
    assert done.status_code == 200 and "Ya no recibirás correos de marketing" in done.get_data(as_text=True)
    assert consent(app_state) == "UNSUBSCRIBED"


def test_one_click_post_from_the_mail_client_unsubscribes(client, app_state):
    path = subscribed_customer(client, app_state)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert consent(app_state) == "UNSUBSCRIBED"


def test_a_forged_link_is_refused(client, app_state):
    path = subscribed_customer(client, app_state)
    assert client.post(path[:-4] + "AAAA").status_code == 404
    assert consent(app_state) == "SUBSCRIBED"
