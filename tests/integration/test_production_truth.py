"""Issue 11: consent, unseen customers, subscriptions, shop profile, re-auth, uninstall and
clocks as real Shopify does them — every payload shaped like Shopify's (tests/payload_shapes.py)."""
from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from emails.delivery.outbox import queue_email
from emails.delivery.unsubscribe import unsubscribe_url
from plugin.cli.doctor import findings
from plugin.models import Customer, OutboxMessage, Shop, utcnow
from plugin.models.checkouts import RecoveryStep
from plugin.shopify.oauth import TokenSet
from plugin.shops.tokens import ShopNeedsReauth, ShopTokens, install_shop
from tests.conftest import ROOT
from tests.integration.conftest import add_shop, bearer, session_token
from tests.integration.recovery.conftest import (
    SHOPPER_EMAIL,
    SHOPPER_ID,
    checkout_payload,
    recovery_emails,
    send_checkout,
    set_email_settings,
    tick,
)
from tests.payload_shapes import unknown_fields
from tests.shopify_requests import SHOP, consent_payload, fixture_payload, post_webhook

ADMIN_ORIGIN = "https://admin.shopify.test"
H = timedelta(hours=1)


@pytest.fixture
def fake(fake_admin):
    """The shared fake Admin API, for a shop that sells in CLP and speaks Spanish."""
    fake_admin.currency, fake_admin.locale = "CLP", "es"
    return fake_admin


def customer_row(app_state, shopify_id=SHOPPER_ID) -> Customer | None:
    with app_state.db.transaction() as session:
        return session.execute(select(Customer).where(Customer.shopify_id == str(shopify_id))).scalar_one_or_none()


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["embajador", *args])


# ------------------------------------------------------------------ payload shapes

def test_the_shape_guard_refuses_fields_shopify_no_longer_sends():
    created = fixture_payload("customers__create.json")
    assert unknown_fields("customers/create", created) == []
    created["email_marketing_consent"] = {"state": "subscribed"}
    assert unknown_fields("customers/create", created) == ["email_marketing_consent"]
    order = fixture_payload("orders__paid.json")
    assert unknown_fields("orders/paid", order) == []
    order["customer"]["orders_count"] = 3
    assert unknown_fields("orders/paid", order) == ["customer.orders_count"]
    with pytest.raises(AssertionError, match="email_marketing_consent"):
        post_webhook(None, "customers/create", created)


# ------------------------------------------------------------------ consent

def test_a_shopper_subscribed_through_the_consent_topic_gets_marketing_mail(client, app_state, fake):
    shop_id = add_shop(app_state)
    created = fixture_payload("customers__create.json")
    assert post_webhook(client, "customers/create", created).status_code == 200
    with client.application.app_context():
        def queue(key):
            with app_state.db.transaction() as session:
                shop = session.get(Shop, shop_id)
                customer = session.execute(select(Customer)).scalar_one()
                return queue_email(session, shop=shop, flow="birthday", message_key=key, to_email=customer.email,
                                   context={"birthday_points": 200}, customer=customer)
        queue("before")
        post_webhook(client, "customers_email_marketing_consent/update",
                     consent_payload(created["id"], created["email"], "subscribed"))
        queue("after")
    with app_state.db.transaction() as session:
        rows = {r.message_key: (r.status, r.reason) for r in session.execute(select(OutboxMessage)).scalars()}
    assert rows["before"] == ("suppressed", "no_consent")
    assert rows["after"][0] == "queued"


def test_an_unsubscribe_in_shopify_stops_queued_marketing_mail_at_the_next_send(client, app_state, fake):
    shop_id = add_shop(app_state)
    created = fixture_payload("customers__create.json")
    post_webhook(client, "customers/create", created)
    post_webhook(client, "customers_email_marketing_consent/update",
                 consent_payload(created["id"], created["email"], "subscribed", "2026-11-01T00:00:00Z"))
    with client.application.app_context():
        with app_state.db.transaction() as session:
            shop = session.get(Shop, shop_id)
            customer = session.execute(select(Customer)).scalar_one()
            queue_email(session, shop=shop, flow="birthday", message_key="b", to_email=customer.email,
                        context={"birthday_points": 200}, customer=customer)
    post_webhook(client, "customers_email_marketing_consent/update",
                 consent_payload(created["id"], created["email"], "unsubscribed", "2026-11-02T00:00:00Z"))
    tick(app_state, utcnow() + timedelta(minutes=1))
    with app_state.db.transaction() as session:
        row = session.execute(select(OutboxMessage).where(OutboxMessage.flow == "birthday")).scalar_one()
        assert (row.status, row.reason) == ("suppressed", "no_consent")


def test_an_order_whose_buyer_accepts_marketing_subscribes_them(client, app_state, fake):
    add_shop(app_state)
    order = fixture_payload("orders__paid.json")  # buyer_accepts_marketing: true, as Shopify's example
    post_webhook(client, "orders/paid", order)
    assert customer_row(app_state, order["customer"]["id"]).marketing_state == "SUBSCRIBED"


def test_a_customer_the_app_never_saw_is_read_once_over_graphql(client, app_state, fake):
    add_shop(app_state)
    created = fixture_payload("customers__create.json")
    fake.customers[str(created["id"])] = {
        "email": created["email"], "locale": "pt-BR", "numberOfOrders": "2",
        "emailMarketingConsent": {"marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
                                  "consentUpdatedAt": "2025-06-01T00:00:00Z"},
        "birthDate": {"value": "1990-05-17"}}
    post_webhook(client, "customers/create", created)
    now = utcnow()
    tick(app_state, now)
    tick(app_state, now + timedelta(minutes=1))
    row = customer_row(app_state, created["id"])
    assert (row.marketing_state, row.locale, row.birthday.isoformat()) == ("SUBSCRIBED", "pt-BR", "1990-05-17")
    assert len(fake.operations("customer")) == 1  # cached: never asked again


def test_our_unsubscribe_link_is_written_back_to_shopify(client, app_state, fake):
    add_shop(app_state)
    created = fixture_payload("customers__create.json")
    fake.customers[str(created["id"])] = {"email": created["email"]}
    post_webhook(client, "customers/create", created)
    post_webhook(client, "customers_email_marketing_consent/update",
                 consent_payload(created["id"], created["email"], "subscribed"))
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        path = unsubscribe_url(app_state.config.secret_key, app_state.config.app_url, shop,
                               session.execute(select(Customer)).scalar_one()).split("embajador.test", 1)[1]
    assert client.post(path).status_code == 200
    [written] = fake.operations("customerEmailMarketingConsentUpdate")
    assert written["input"]["customerId"] == f"gid://shopify/Customer/{created['id']}"
    assert written["input"]["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"
    assert customer_row(app_state, created["id"]).consent_push_pending_at is None
    tick(app_state, utcnow())
    assert len(fake.operations("customerEmailMarketingConsentUpdate")) == 1  # nothing left to push


# ------------------------------------------------------------------ unseen customers' checkouts

@pytest.mark.parametrize("with_customer", [True, False], ids=["customer_before_install", "guest"])
def test_an_unseen_shoppers_checkout_gets_its_three_steps_on_the_checkouts_consent(
        client, app_state, fake, with_customer):
    add_shop(app_state)
    set_email_settings(app_state, frequency_cap=3)
    t0 = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    payload = checkout_payload("tok-unseen", t0, accepts_marketing=True,
                               customer_id=SHOPPER_ID if with_customer else None)
    send_checkout(client, "checkouts/create", payload)
    for at in (t0 + H, t0 + 24 * H, t0 + 72 * H):
        tick(app_state, at)
    emails = recovery_emails(app_state)
    assert [(e.flow, e.status) for e in emails] == [(f"abandoned_checkout_{n}", "outbox") for n in (1, 2, 3)]
    assert {e.to_email for e in emails} == {SHOPPER_EMAIL}
    with app_state.db.transaction() as session:
        row = session.execute(select(Customer).where(Customer.email == SHOPPER_EMAIL)).scalar_one()
        assert row.marketing_state == "SUBSCRIBED"
        assert row.shopify_id == (str(SHOPPER_ID) if with_customer else None)


def test_a_checkout_without_consent_from_an_unseen_shopper_sends_nothing(client, app_state, fake):
    add_shop(app_state)
    t0 = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    send_checkout(client, "checkouts/create", checkout_payload("tok-no", t0, accepts_marketing=False))
    tick(app_state, t0 + H)
    [email] = recovery_emails(app_state) or [None]
    assert email is None or email.status == "suppressed"


# ------------------------------------------------------------------ subscriptions, shop add, profile

def test_each_topic_is_subscribed_exactly_once_either_way(client, app, app_state, fake):
    from webhooks.topics import COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS
    toml = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    declared = [t for sub in toml["webhooks"]["subscriptions"] for t in sub.get("topics", [])]
    compliance = [t for sub in toml["webhooks"]["subscriptions"] for t in sub.get("compliance_topics", [])]
    assert sorted(declared) == sorted(SUBSCRIBED_TOPICS) and len(declared) == len(set(declared))
    assert sorted(compliance) == sorted(COMPLIANCE_TOPICS)
    assert toml["webhooks"]["api_version"] == app_state.config.api_version == "2026-10"
    assert "read_locales" in toml["access_scopes"]["scopes"].split(",")
    # OAuth / token exchange: the toml delivers; nothing is registered per shop.
    assert client.get("/api/shop", headers=bearer(session_token(shop="nueva.myshopify.com"))).status_code == 200
    assert fake.subscriptions == []
    # A custom app (no toml): shop add registers every topic through the API, once, even when re-run.
    fake.tokens["shpat_custom"] = "custom.myshopify.com"
    for _ in range(2):
        assert cli(app, "shop", "add", "--shop", "custom.myshopify.com", "--token", "shpat_custom").exit_code == 0
    topics = [s["topic"] for s in fake.subscriptions]
    assert sorted(topics) == sorted(t.replace("/", "_").upper() for t in SUBSCRIBED_TOPICS)
    namespaces = {s["topic"]: s["metafieldNamespaces"] for s in fake.subscriptions}
    assert namespaces["CUSTOMERS_CREATE"] == namespaces["CUSTOMERS_UPDATE"] == ["facts"]


def test_shop_add_learns_the_currency_so_a_clp_program_imports(app, app_state, fake, tmp_path):
    result = cli(app, "shop", "add", "--shop", SHOP, "--token", "shpat_test")
    assert result.exit_code == 0, result.output
    assert "CLP, es" in result.output
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        assert [t["name"] for t in shop.program["tiers"]] == ["Bronce", "Plata", "Oro"]  # in the shop's language
    program = tmp_path / "program.json"
    program.write_text('{"currency": "CLP", "earn": {"points": 1, "per_amount": "1000"}}')
    imported = cli(app, "program", "import", "--shop", SHOP, str(program))
    assert imported.exit_code == 0, imported.output
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        assert (shop.currency, shop.primary_locale, shop.program["currency"]) == ("CLP", "es", "CLP")


def test_shop_add_offline_needs_a_currency_and_a_mismatch_says_how_to_fix_it(app, app_state, tmp_path):
    refused = cli(app, "shop", "add", "--shop", SHOP, "--token", "t", "--offline")
    assert refused.exit_code != 0 and "--currency" in refused.output
    assert cli(app, "shop", "add", "--shop", SHOP, "--token", "t", "--offline", "--currency", "usd").exit_code == 0
    program = tmp_path / "program.json"
    program.write_text('{"currency": "CLP", "earn": {"points": 1, "per_amount": "1000"}}')
    mismatch = cli(app, "program", "import", "--shop", SHOP, str(program))
    assert mismatch.exit_code != 0
    assert "shop sells in USD" in mismatch.output and "shop add" in mismatch.output


# ------------------------------------------------------------------ expiring tokens

def test_a_refused_refresh_marks_the_shop_and_the_next_admin_visit_recovers_it(client, app, app_state, fake):
    past = utcnow() - timedelta(minutes=1)
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, SHOP, TokenSet(
            access_token="shpat_old", scope="read_orders", expires_at=past, refresh_token="shprt_revoked",
            refresh_token_expires_at=utcnow() + timedelta(days=30)), utcnow())
        shop_id = shop.id
    tokens = ShopTokens(app_state, shop_id)
    with pytest.raises(ShopNeedsReauth):
        tokens.access_token()
    with pytest.raises(ShopNeedsReauth):
        tokens.access_token()  # no second refresh attempt: the flag stops the loop
    assert len([c for c in fake.calls if c[0] == "oauth:refresh_token"]) == 0  # Shopify refused before recording
    ok, messages = zip(*findings(app_state, datetime(2026, 11, 29, tzinfo=UTC).date()), strict=True)
    assert any(SHOP in m and "re-authorisation" in m for m in messages) and not all(ok)
    doctor = cli(app, "doctor")
    assert doctor.exit_code == 1 and SHOP in doctor.output
    answer = client.get("/api/shop", headers=bearer(session_token(shop=SHOP)))
    assert answer.status_code == 200 and answer.get_json()["needs_reauth"] is False
    assert fake.operations("oauth:token-exchange")
    assert tokens.access_token() in fake.tokens


# ------------------------------------------------------------------ uninstall

def test_uninstalling_stops_queued_mail_and_recovery_steps_and_a_reinstall_does_not_resurrect_them(
        client, app_state, fake):
    add_shop(app_state)
    t0 = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    send_checkout(client, "checkouts/create", checkout_payload("tok-gone", t0, accepts_marketing=True))
    tick(app_state, t0 + H)
    assert [e.flow for e in recovery_emails(app_state)] == ["abandoned_checkout_1"]
    with app_state.db.transaction() as session:
        session.execute(OutboxMessage.__table__.update().values(status="queued", sent_at=None))
    assert post_webhook(client, "app/uninstalled", fixture_payload("app__uninstalled.json")).status_code == 200
    with app_state.db.transaction() as session:
        email = session.execute(select(OutboxMessage)).scalar_one()
        steps = session.execute(select(RecoveryStep).order_by(RecoveryStep.step)).scalars().all()
        assert (email.status, email.reason) == ("suppressed", "shop_uninstalled")
        assert [(s.status, s.skip_reason) for s in steps[1:]] == [("cancelled", "shop_uninstalled")] * 2
    add_shop(app_state)  # the merchant reinstalls
    for at in (t0 + 24 * H, t0 + 72 * H):
        tick(app_state, at)
    assert [(e.flow, e.status) for e in recovery_emails(app_state)] == [("abandoned_checkout_1", "suppressed")]


# ------------------------------------------------------------------ clocks

def test_a_welcome_queued_by_a_tick_in_the_past_is_sent_by_that_tick(client, app_state, fake):
    add_shop(app_state)
    post_webhook(client, "customers/create", fixture_payload("customers__create.json"))
    past = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    tick(app_state, past)
    with app_state.db.transaction() as session:
        welcome = session.execute(select(OutboxMessage).where(OutboxMessage.flow == "welcome")).scalar_one()
        assert welcome.send_after == past
        assert welcome.status == "outbox" and welcome.sent_at == past
