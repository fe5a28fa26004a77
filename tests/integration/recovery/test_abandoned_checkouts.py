"""Abandoned-checkout recovery end to end: webhooks in, time driven by tick, emails in the outbox."""
from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.models import Shop, utcnow
from plugin.recovery import steps as recovery_steps
from plugin.recovery.analytics import recovery_stats
from tests.conftest import API_KEY, API_SECRET
from tests.integration.conftest import add_shop, bearer, session_token
from tests.integration.recovery.conftest import (
    SHOPPER_EMAIL,
    checkout_payload,
    checkout_row,
    order_payload,
    post_customer,
    recovery_emails,
    send_checkout,
    set_email_settings,
    steps_of,
    tick,
)
from tests.shopify_requests import SHOP, post_webhook

ADMIN_ORIGIN = "https://admin.shopify.test"
H = timedelta(hours=1)


@pytest.fixture
def fake():
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.tokens["shpat_test"] = SHOP
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, ADMIN_ORIGIN)
        yield fake


@pytest.fixture
def t0():
    """The moment the shopper left the checkout (in the near future: the outbox never sends in the past)."""
    return utcnow().replace(microsecond=0) + timedelta(minutes=5)


@pytest.fixture
def subscribed_shop(client, app_state):
    add_shop(app_state)
    set_email_settings(app_state, frequency_cap=3)
    post_customer(client, "subscribed")


def test_non_buyer_gets_three_emails_at_1h_24h_72h_and_none_earlier(client, app_state, subscribed_shop, fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-series", t0))
    seen = []
    for at, expected in [(t0 + 59 * timedelta(minutes=1), 0), (t0 + H, 1), (t0 + 23 * H, 1), (t0 + 24 * H, 2),
                         (t0 + 71 * H, 2), (t0 + 72 * H, 3), (t0 + 72 * H, 3), (t0 + 200 * H, 3)]:
        tick(app_state, at)
        emails = recovery_emails(app_state)
        assert len(emails) == expected, at - t0
        seen = emails
    assert [e.flow for e in seen] == ["abandoned_checkout_1", "abandoned_checkout_2", "abandoned_checkout_3"]
    assert [e.sent_at - t0 for e in seen] == [H, 24 * H, 72 * H]
    assert {e.status for e in seen} == {"outbox"} and {e.to_email for e in seen} == {SHOPPER_EMAIL}
    assert {e.locale for e in seen} == {"es"}
    first, last = seen[0], seen[2]
    assert "IPod Nano - 8GB" in first.text and "/checkouts/tok-series/recover" in first.text
    assert 'class="thumb"' not in first.html  # checkout webhooks carry no line image (the fixture has none)
    assert "199" in first.text  # the price, in the shop's money
    [discount] = fake.discounts  # created once, bound to the shopper, valid a few days
    assert discount["code"] in last.text and discount["code"] not in first.text
    assert discount["context"] == {"customers": {"add": ["gid://shopify/Customer/7400000000000001"]}}
    assert discount["usageLimit"] == 1 and discount["endsAt"] > discount["startsAt"]
    assert steps_of(app_state, "tok-series")[3].incentive_code == discount["code"]


def test_buyer_after_step_1_gets_nothing_more_and_the_revenue_counts(client, app_state, subscribed_shop, fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-buyer", t0))
    tick(app_state, t0 + H)
    assert len(recovery_emails(app_state)) == 1
    post_webhook(client, "orders/create", order_payload(8800000000000001, t0 + 3 * H, checkout_token="tok-buyer"))
    for hours in (4, 24, 72, 100):
        tick(app_state, t0 + hours * H)
    assert [e.flow for e in recovery_emails(app_state)] == ["abandoned_checkout_1"]
    steps = steps_of(app_state, "tok-buyer")
    assert (steps[2].status, steps[3].status) == ("cancelled", "cancelled") and steps[2].skip_reason == "purchased"
    assert fake.discounts == []
    checkout = checkout_row(app_state, "tok-buyer")
    assert checkout.recovered_order_id == "8800000000000001" and checkout.recovered_step == 1
    with app_state.db.transaction() as session:
        stats = recovery_stats(session, session.query(Shop).one())
    assert stats["recovered"] == 1 and stats["recovered_revenue"] == "421.88" and stats["recovery_rate"] == "100.0"
    assert stats["steps"] == [{"step": 1, "sent": 1, "recovered": 1, "recovery_rate": "100.0",
                               "recovered_revenue": "421.88"}]
    answer = client.get("/api/analytics/abandoned-checkouts", headers=bearer(session_token()))
    assert answer.status_code == 200 and answer.get_json()["recovered_revenue"] == "421.88"
    cli = client.application.test_cli_runner().invoke(args=["embajador", "checkouts", "stats", "--shop", SHOP])
    assert cli.exit_code == 0 and "recovered revenue 421.88 USD" in cli.output and "step 1: sent 1, recovered 1" in cli.output


def test_same_email_buying_before_the_first_step_stops_the_series_without_credit(client, app_state, subscribed_shop,
                                                                                  fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-early", t0))
    post_webhook(client, "orders/paid", order_payload(8800000000000002, t0 + 30 * timedelta(minutes=1)))
    for hours in (1, 24, 72):
        tick(app_state, t0 + hours * H)
    assert recovery_emails(app_state) == []
    checkout = checkout_row(app_state, "tok-early")
    assert checkout.completed_order_id == "8800000000000002" and checkout.recovered_at is None


def test_out_of_order_updates_never_overwrite_newer_state(client, app_state, subscribed_shop, fake, t0):
    later = checkout_payload("tok-ooo", t0 + 30 * timedelta(minutes=1), quantity=2)
    send_checkout(client, "checkouts/update", later)
    send_checkout(client, "checkouts/create", checkout_payload("tok-ooo", t0, quantity=1))
    checkout = checkout_row(app_state, "tok-ooo")
    assert checkout.line_items[0]["quantity"] == 2 and str(checkout.subtotal) == "398.000000"
    tick(app_state, t0 + H)
    assert recovery_emails(app_state) == []  # the series counts from the newest update
    tick(app_state, t0 + H + 30 * timedelta(minutes=1))
    [email] = recovery_emails(app_state)
    assert "398" in email.text


def test_no_consent_means_no_email(client, app_state, fake, t0):
    add_shop(app_state)
    post_customer(client, "not_subscribed")
    send_checkout(client, "checkouts/create", checkout_payload("tok-no", t0))
    send_checkout(client, "checkouts/create", checkout_payload("tok-guest", t0, customer_id=None,
                                                               email="guest@example.com"))
    for hours in (1, 24, 72):
        tick(app_state, t0 + hours * H)
    assert recovery_emails(app_state) == []
    assert {s.skip_reason for s in steps_of(app_state, "tok-no").values()} == {"no_consent"}
    assert {s.skip_reason for s in steps_of(app_state, "tok-guest").values()} == {"no_consent"}
    assert fake.discounts == []


def test_emptied_cart_gets_no_email(client, app_state, subscribed_shop, fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-empty", t0))
    emptied = checkout_payload("tok-empty", t0 + 10 * timedelta(minutes=1))
    emptied["line_items"] = []
    send_checkout(client, "checkouts/update", emptied)
    tick(app_state, t0 + 2 * H)
    assert recovery_emails(app_state) == []
    assert steps_of(app_state, "tok-empty")[1].skip_reason == "cart_emptied"


def test_duplicate_deliveries_make_one_series(client, app_state, subscribed_shop, fake, t0):
    payload = checkout_payload("tok-dup", t0)
    send_checkout(client, "checkouts/create", payload, event_id="evt-1")
    send_checkout(client, "checkouts/create", payload, event_id="evt-1")
    send_checkout(client, "checkouts/create", payload, event_id="evt-2")
    send_checkout(client, "checkouts/update", payload, event_id="evt-3")
    assert sorted(steps_of(app_state, "tok-dup")) == [1, 2, 3]
    tick(app_state, t0 + H)
    tick(app_state, t0 + H)
    assert len(recovery_emails(app_state)) == 1


def test_incentive_code_is_created_once_even_when_the_email_step_is_retried(client, app_state, subscribed_shop, fake,
                                                                           t0, monkeypatch):
    send_checkout(client, "checkouts/create", checkout_payload("tok-code", t0))
    real_queue = recovery_steps.queue_email

    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(recovery_steps, "queue_email", broken)
    assert tick(app_state, t0 + 72 * H)["checkout_steps"]["failed"] == 1
    assert steps_of(app_state, "tok-code")[3].status == "scheduled"  # retried on the next tick
    monkeypatch.setattr(recovery_steps, "queue_email", real_queue)
    tick(app_state, t0 + 72 * H + timedelta(minutes=1))
    tick(app_state, t0 + 72 * H + timedelta(minutes=2))
    [discount] = fake.discounts
    [email] = recovery_emails(app_state)  # steps 1 and 2 were overtaken by step 3: only the latest goes
    assert email.flow == "abandoned_checkout_3" and discount["code"] in email.text
    assert len(fake.operations("discountCodeBasicCreate")) == 1


def test_shopify_refusing_the_code_still_sends_the_email_without_it(client, app_state, subscribed_shop, fake, t0):
    fake.refuse.add("discountCodeBasicCreate")
    send_checkout(client, "checkouts/create", checkout_payload("tok-refused", t0))
    tick(app_state, t0 + 72 * H)
    [email] = recovery_emails(app_state)
    step = steps_of(app_state, "tok-refused")[3]
    assert step.status == "sent" and step.incentive_error and not step.incentive_created
    assert step.incentive_code not in email.text


def test_incentive_code_used_days_later_is_credited_to_its_step(client, app_state, subscribed_shop, fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-used", t0))
    for hours in (1, 24, 72):
        tick(app_state, t0 + hours * H)
    code = steps_of(app_state, "tok-used")[3].incentive_code
    post_webhook(client, "orders/paid", order_payload(8800000000000003, t0 + 80 * H, email="other@example.com",
                                                      total="150.00", codes=(code,)))
    tick(app_state, t0 + 81 * H)
    checkout = checkout_row(app_state, "tok-used")
    assert checkout.recovered_step == 3 and str(checkout.recovered_revenue) == "150.000000"


def test_default_frequency_cap_lets_the_configured_series_through(client, app_state, fake, t0):
    """Step 2 goes 23 h after step 1: the one-a-day cap must not eat the series the merchant set up."""
    add_shop(app_state)
    post_customer(client, "subscribed")
    send_checkout(client, "checkouts/create", checkout_payload("tok-cap", t0))
    for hours in (1, 24, 72):
        tick(app_state, t0 + hours * H)
    steps = steps_of(app_state, "tok-cap")
    assert (steps[1].status, steps[2].status, steps[3].status) == ("sent", "sent", "sent")


def test_reconciliation_picks_up_a_checkout_whose_webhook_was_missed(client, app_state, subscribed_shop, fake, t0):
    fake.abandoned_checkouts.append({
        "id": "gid://shopify/AbandonedCheckout/555", "createdAt": t0.isoformat(), "updatedAt": t0.isoformat(),
        "completedAt": None, "abandonedCheckoutUrl": f"https://{SHOP}/1/checkouts/ac/tok-missed/recover?key=x",
        "customer": {"id": "gid://shopify/Customer/7400000000000001", "email": SHOPPER_EMAIL},
        "totalPriceSet": {"shopMoney": {"amount": "59.90", "currencyCode": "USD"},
                          "presentmentMoney": {"amount": "59.90", "currencyCode": "USD"}},
        "lineItems": {"nodes": [{"title": "Poncho de alpaca", "quantity": 1, "variantTitle": "Gris",
                                 "image": {"url": "https://cdn.shopify.com/poncho.jpg"},
                                 "originalUnitPriceSet": {"shopMoney": {"amount": "59.90", "currencyCode": "USD"}}}]},
    })
    tick(app_state, t0 + 10 * timedelta(minutes=1))
    tick(app_state, t0 + 20 * timedelta(minutes=1))
    assert len(fake.operations("abandonedCheckouts")) == 1  # hourly per shop, remembered in Postgres
    checkout = checkout_row(app_state, "tok-missed")
    assert checkout.source == "reconcile" and checkout.checkout_id == "555" and checkout.email == SHOPPER_EMAIL
    tick(app_state, t0 + H)
    [email] = recovery_emails(app_state)
    assert "Poncho de alpaca" in email.text and "tok-missed/recover" in email.text
    assert len(fake.operations("abandonedCheckouts")) == 1
    tick(app_state, t0 + 2 * H)
    assert len(fake.operations("abandonedCheckouts")) == 2


def test_customers_redact_wipes_the_checkout_email(client, app_state, subscribed_shop, fake, t0):
    send_checkout(client, "checkouts/create", checkout_payload("tok-redact", t0))
    post_webhook(client, "customers/redact", {"shop_id": 1, "shop_domain": SHOP,
                                              "customer": {"id": 7400000000000001, "email": SHOPPER_EMAIL},
                                              "orders_to_redact": []})
    checkout = checkout_row(app_state, "tok-redact")
    assert checkout.email is None and checkout.recovery_url is None
    tick(app_state, t0 + H)
    assert recovery_emails(app_state) == []


def test_series_survives_a_redis_flush_and_runs_through_the_rq_worker(rq_app, t0):
    from tests.integration.conftest import run_worker
    app_state, client = rq_app.extensions["embajador"], rq_app.test_client()
    add_shop(app_state)
    set_email_settings(app_state, frequency_cap=3)
    post_customer(client, "subscribed")
    send_checkout(client, "checkouts/create", checkout_payload("tok-rq", t0))
    run_worker(app_state)
    assert sorted(steps_of(app_state, "tok-rq")) == [1, 2, 3]
    app_state.queue.connection.flushdb()  # a Redis flush or a deploy: the schedule lives in Postgres
    tick(app_state, t0 + H)
    run_worker(app_state)
    [email] = recovery_emails(app_state)
    assert email.flow == "abandoned_checkout_1" and email.status == "outbox" and email.sent_at == t0 + H
