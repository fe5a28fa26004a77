"""Issue 11 end to end: gunicorn + RQ worker + Postgres + Redis, a local fake Shopify and a
SendGrid sink, every payload shaped as Shopify sends it today."""
from __future__ import annotations

import json
from datetime import timedelta

import requests
from sqlalchemy import select

from emails.delivery.unsubscribe import unsubscribe_url
from plugin import create_app
from plugin.demo.fake_shopify import FakeShopify
from plugin.models import Customer, Shop, utcnow
from tests.conftest import API_KEY, API_SECRET, _truncate_all, base_env
from tests.e2e.processes import gunicorn, rq_worker, wait_until
from tests.integration.emails.conftest import sink  # noqa: F401  (fixture)
from tests.integration.recovery.conftest import SHOPPER_EMAIL, SHOPPER_ID, checkout_payload
from tests.payload_shapes import unknown_fields
from tests.shopify_requests import SHOP, consent_payload, fixture_payload, webhook_headers

H = timedelta(hours=1)


def post(base: str, topic: str, payload: dict) -> None:
    assert unknown_fields(topic, payload) == []
    body = json.dumps(payload, default=str).encode()
    response = requests.post(f"{base}/webhooks", data=body, headers=webhook_headers(body, topic), timeout=5)
    assert response.status_code == 200


def test_consent_unseen_checkout_write_back_and_shop_add_with_real_processes(
        migrated, pg_url, redis_url, tmp_path, sink):  # noqa: F811
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET, currency="CLP", locale="es")
    fake.tokens["shpat_custom"] = SHOP
    origin, fake_server = fake.serve()
    env = base_env(pg_url, REDIS_URL=redis_url, SHOPIFY_ADMIN_ORIGIN=origin, SENDGRID_API_KEY="SG.test",
                   SENDGRID_API_HOST=sink.url, SENDGRID_FROM_EMAIL="tienda@example.cl")
    app = create_app(env)
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    app_state.queue.connection.flushdb()
    runner = app.test_cli_runner()

    def embajador(*args: str):
        with app.app_context():  # the `flask` command pushes one; the test runner does not
            return runner.invoke(args=["embajador", *args])
    try:
        added = embajador("shop", "add", "--shop", SHOP, "--token", "shpat_custom")
        assert added.exit_code == 0, added.output
        with app_state.db.transaction() as session:
            assert session.execute(select(Shop.currency)).scalar_one() == "CLP"  # learnt from Shopify
        bob = fixture_payload("customers__create.json")
        fake.customers[str(bob["id"])] = {"email": bob["email"]}
        t0 = utcnow().replace(microsecond=0) + timedelta(minutes=5)
        with gunicorn(env, tmp_path) as base, rq_worker(env, tmp_path):
            post(base, "customers/create", bob)
            post(base, "customers_email_marketing_consent/update", consent_payload(bob["id"], bob["email"]))
            # A shopper from before install: no customers/create, only the checkout and its opt-in.
            post(base, "checkouts/create", checkout_payload("tok-e2e", t0, accepts_marketing=True))

            def consent_of(shopify_id):
                with app_state.db.transaction() as session:
                    return session.execute(select(Customer.marketing_state).where(
                        Customer.shopify_id == str(shopify_id))).scalar_one_or_none()
            wait_until(lambda: consent_of(bob["id"]) == "SUBSCRIBED", what="the consent topic to subscribe Bob")
            wait_until(lambda: consent_of(SHOPPER_ID) == "SUBSCRIBED", what="the checkout to subscribe its buyer")

            for at in (t0 + H, t0 + 24 * H, t0 + 72 * H):
                ticked = embajador("tick", "--now", at.isoformat())
                assert ticked.exit_code == 0, ticked.output

            def recovery_mails():
                return [b for b in sink.bodies()
                        if (b.get("custom_args") or {}).get("flow", "").startswith("abandoned_checkout_")
                        or any((p.get("custom_args") or {}).get("flow", "").startswith("abandoned_checkout_")
                               for p in b.get("personalizations", []))]
            wait_until(lambda: len(recovery_mails()) == 3, timeout=60, what="three recovery emails at SendGrid")
            recipients = {p["to"][0]["email"] for b in recovery_mails() for p in b["personalizations"]}
            assert recipients == {SHOPPER_EMAIL}

            with app_state.db.transaction() as session:
                shop = session.execute(select(Shop)).scalar_one()
                customer = session.execute(select(Customer).where(Customer.shopify_id == str(bob["id"]))).scalar_one()
                link = unsubscribe_url(app_state.config.secret_key, base, shop, customer)
            assert requests.post(link, timeout=5).status_code == 200
            wait_until(lambda: fake.operations("customerEmailMarketingConsentUpdate"), timeout=30,
                       what="the unsubscribe to reach Shopify")
            [written] = fake.operations("customerEmailMarketingConsentUpdate")
            assert written["input"]["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"
            assert written["input"]["customerId"] == f"gid://shopify/Customer/{bob['id']}"
    finally:
        fake_server.shutdown()
        app_state.db.dispose()
