"""The pure core of checkout recovery: payload facts, the schedule, the send decision, credit."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from plugin.loyalty.rules.program import default_program
from plugin.recovery.facts import CheckoutPayloadError, facts_from_graphql, facts_from_webhook
from plugin.recovery.rules.series import SendFacts, credited_step, decide_send, plan_steps
from tests.shopify_requests import fixture_payload

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_real_checkout_payload_becomes_decimal_facts_keyed_by_token():
    facts = facts_from_webhook(fixture_payload("checkouts__create.json"))
    assert facts.token == "123123123" and facts.checkout_id == "981820079255243500"
    assert facts.email == "example@email.com"  # the contact email, not the account's
    assert facts.subtotal == Decimal("398.00") and facts.currency == "USD" and isinstance(facts.subtotal, Decimal)
    assert facts.line_items[0]["price"] == "199.00" and facts.line_items[0]["title"] == "IPod Nano - 8GB"
    assert facts.recovery_url.endswith("/checkouts/123123123/recover?key=example-secret-token")
    assert facts.consent_state is None and facts.completed_at is None
    assert facts.updated_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)


def test_2026_04_payload_without_id_is_still_keyed_by_token():
    facts = facts_from_webhook(fixture_payload("checkouts__create.2026-04.json"))
    assert facts.token == "123123123" and facts.checkout_id is None


def test_shop_money_set_wins_over_presentment_strings():
    payload = fixture_payload("checkouts__update.json")
    payload.update(presentment_currency="EUR", subtotal_price="370.00", subtotal_price_set={
        "shop_money": {"amount": "398.00", "currency_code": "USD"},
        "presentment_money": {"amount": "370.00", "currency_code": "EUR"}})
    facts = facts_from_webhook(payload)
    assert (facts.subtotal, facts.currency) == (Decimal("398.00"), "USD")
    assert (facts.presentment_subtotal, facts.presentment_currency) == (Decimal("370.00"), "EUR")


def test_payload_without_token_is_refused():
    payload = fixture_payload("checkouts__create.json")
    payload.pop("token")
    with pytest.raises(CheckoutPayloadError):
        facts_from_webhook(payload)


def test_graphql_node_takes_its_token_from_the_recovery_url_and_email_from_customer():
    facts = facts_from_graphql({"id": "gid://shopify/AbandonedCheckout/77", "updatedAt": "2026-11-23T10:00:00Z",
                                "abandonedCheckoutUrl": "https://s.myshopify.com/1/checkouts/ac/abc123/recover?key=k",
                                "customer": {"id": "gid://shopify/Customer/5", "email": "A@B.CL"}})
    assert (facts.token, facts.checkout_id, facts.email, facts.customer_shopify_id) == ("abc123", "77", "a@b.cl", "5")
    assert facts.line_items is None  # unknown, so stored lines are kept


def test_default_series_is_due_1h_24h_72h_after_the_last_update():
    delays = default_program("CLP", "es").abandoned_checkout.delays
    assert plan_steps(T0, delays) == [(1, T0 + H), (2, T0 + 24 * H), (3, T0 + 72 * H)]


def facts(**overrides) -> SendFacts:
    values = dict(purchased=False, email="a@b.cl", has_items=True, consent_state="SUBSCRIBED", later_step_due=False)
    values.update(overrides)
    return SendFacts(**values)


@pytest.mark.parametrize("overrides, expected", [
    ({}, ("send", None)),
    ({"purchased": True}, ("cancel", "purchased")),
    ({"email": None}, ("skip", "no_email")),
    ({"has_items": False}, ("skip", "cart_emptied")),
    ({"items_known": False, "has_items": False}, ("skip", "cart_unknown")),
    ({"consent_state": "NOT_SUBSCRIBED"}, ("skip", "no_consent")),
    ({"consent_state": None}, ("skip", "no_consent")),
    ({"later_step_due": True}, ("skip", "superseded")),
])
def test_send_decision(overrides, expected):
    decision = decide_send(facts(**overrides), T0, T0 + timedelta(minutes=1))
    assert (decision.action, decision.reason) == expected


def test_a_step_days_late_is_not_sent_out_of_the_blue():
    assert decide_send(facts(), T0, T0 + 49 * H).reason == "stale"


def test_credit_goes_to_the_latest_step_before_the_order_within_seven_days():
    sent = [(1, T0 + H), (2, T0 + 24 * H)]
    assert credited_step(T0 + 2 * H, sent) == 1
    assert credited_step(T0 + 30 * H, sent) == 2
    assert credited_step(T0 + 30 * H, [(1, T0 + H)]) == 1
    assert credited_step(T0 + H + timedelta(days=7, seconds=1), [(1, T0 + H)]) is None
    assert credited_step(T0, sent) is None  # bought before any email: not a recovery
    assert credited_step(T0 + 30 * H, sent + [(3, T0 + 72 * H)], used_incentive_step=3) == 3
