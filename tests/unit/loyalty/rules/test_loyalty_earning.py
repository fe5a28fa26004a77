import copy
import json
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty_support import WEBHOOKS, utc, webhook

from plugin.loyalty.rules.earning import (
    OrderPayloadError,
    available_at,
    earn_block_reason,
    order_facts_from_payload,
    parse_id,
    points_for_order,
)
from plugin.loyalty.rules.money import money
from plugin.loyalty.rules.program import Earn, Program, default_program, load_program

ORDER_FIXTURES = {
    # file: (shop currency, order id, customer id, email, net merchandise)
    "orders__paid.json": ("USD", "820982911946154508", "115310627314723954", "jon@example.com", "359.97"),
    "orders__create.json": ("USD", "820982911946154508", "115310627314723954", "jon@example.com", "359.97"),
    "orders__cancelled.json": ("USD", "820982911946154508", "115310627314723954", "jon@example.com", "359.97"),
    "orders__create.2026-04.json": ("USD", "820982911946154508", "115310627314723954", "jon@example.com", "404.95"),
    "orders__create.hkd_real.json": ("HKD", "6198424240428", None, None, "384.00"),
    "orders__cancelled.hkd_real.json": ("HKD", "6198821716268", "8658316394796", "it@akastudio.com.hk", "99.00"),
}


def usd_program(**earn):
    return Program(currency="USD", earn=Earn(points=earn.get("points", 1), per_amount=Decimal(earn.get("per", "1"))))


@pytest.mark.parametrize("name", sorted(ORDER_FIXTURES))
def test_every_order_fixture_parses_to_exact_facts(name):
    currency, order_id, customer_id, email, net = ORDER_FIXTURES[name]
    facts = order_facts_from_payload(webhook(name), currency)
    assert facts.order_id == order_id
    assert facts.customer_id == customer_id
    assert facts.email == email
    assert facts.merchandise == money(net, currency)
    assert facts.presentment_merchandise == money(net, currency)
    assert facts.created_at.tzinfo is not None


def test_big_ids_survive_exactly():
    facts = order_facts_from_payload(webhook("orders__paid.json"), "USD")
    assert facts.order_id == "820982911946154508"  # a float would give ...154500
    assert int(facts.order_id) > 2**53


def test_usd_docs_order_details():
    facts = order_facts_from_payload(webhook("orders__paid.json"), "USD")
    assert facts.source_name == "web"
    assert facts.financial_status == "voided"
    assert facts.created_at == utc(2022, 1, 1, 0, 0)  # 2021-12-31T19:00:00-05:00
    assert facts.cancelled_at == utc(2022, 1, 1, 0, 0)
    assert facts.checkout_token is None
    assert facts.locale == "en"
    assert facts.test is True
    assert facts.is_pos is False


def test_hkd_guest_draft_order_with_a_discount_code():
    facts = order_facts_from_payload(webhook("orders__create.hkd_real.json"), "HKD")
    assert facts.source_name == "shopify_draft_order"
    assert facts.financial_status == "paid"
    assert facts.discount_codes == ("Alan Test 0123A",)
    assert facts.checkout_token == "5275063760b864198fe377578e287c68"
    # 399.00 of line items minus 15.00 of discounts; shipping (55.00) earns nothing
    assert facts.merchandise == money("384.00", "HKD")
    assert facts.locale == "zh-TW"


def test_product_less_line_items_still_count():
    """The 2026-04 payload adds a 'Lens Protection Plan' with no product_id."""
    facts = order_facts_from_payload(webhook("orders__create.2026-04.json"), "USD")
    assert facts.merchandise == money("404.95", "USD")


def test_cancelled_order_keeps_its_original_subtotal_as_earn_base():
    facts = order_facts_from_payload(webhook("orders__cancelled.hkd_real.json"), "HKD")
    assert facts.merchandise == money("99.00", "HKD")  # current_subtotal_price is 0.00
    assert facts.cancelled_at == utc(2025, 1, 24, 2, 57, 18)


def test_shop_money_is_used_not_presentment():
    payload = webhook("orders__create.hkd_real.json")
    for key in ("subtotal_price_set",):
        payload[key]["presentment_money"] = {"amount": "45.90", "currency_code": "EUR"}
    facts = order_facts_from_payload(payload, "HKD")
    assert facts.merchandise == money("384.00", "HKD")
    assert facts.presentment_merchandise.currency == "EUR"


def test_order_in_another_shop_currency_is_refused():
    with pytest.raises(OrderPayloadError, match="HKD, expected CLP"):
        order_facts_from_payload(webhook("orders__create.hkd_real.json"), "CLP")


def test_tax_included_shops_earn_on_the_price_without_tax():
    payload = webhook("orders__create.hkd_real.json")
    payload["taxes_included"] = True
    payload["line_items"][0]["tax_lines"] = [
        {"price": "14.00", "price_set": {"shop_money": {"amount": "14.00", "currency_code": "HKD"},
                                          "presentment_money": {"amount": "14.00", "currency_code": "HKD"}}},
    ]
    facts = order_facts_from_payload(payload, "HKD")
    assert facts.merchandise == money("370.00", "HKD")


def test_gift_cards_earn_nothing():
    payload = webhook("orders__create.hkd_real.json")
    line = payload["line_items"][1]  # 100.00 with 2.54 of discount allocated
    line["gift_card"] = True
    facts = order_facts_from_payload(payload, "HKD")
    assert facts.merchandise == money("286.54", "HKD")


def test_guest_email_falls_back_to_contact_email_and_is_normalized():
    payload = webhook("orders__create.hkd_real.json")
    payload["contact_email"] = "  Ana.Perez@Example.CL "
    assert order_facts_from_payload(payload, "HKD").email == "ana.perez@example.cl"


def test_note_attributes_are_kept_for_referral_attribution():
    payload = webhook("orders__paid.json")
    payload["note_attributes"] = [{"name": "embajador_ref", "value": "ANA-7K2M"}]
    facts = order_facts_from_payload(payload, "USD")
    assert facts.note_attribute("embajador_ref") == "ANA-7K2M"
    assert facts.note_attribute("missing") is None


def test_float_amounts_are_refused():
    payload = json.loads((WEBHOOKS / "orders__create.hkd_real.json").read_text())  # floats on purpose
    payload["subtotal_price_set"]["shop_money"]["amount"] = 384.0
    with pytest.raises(OrderPayloadError):
        order_facts_from_payload(payload, "HKD")


def test_float_ids_are_refused():
    with pytest.raises(TypeError):
        parse_id(8.209829119461545e17)
    assert parse_id("gid://shopify/Order/820982911946154508") == "820982911946154508"


def test_missing_subtotal_is_an_error_not_zero_points():
    payload = webhook("orders__paid.json")
    del payload["subtotal_price_set"], payload["subtotal_price"]
    with pytest.raises(OrderPayloadError):
        order_facts_from_payload(payload, "USD")


def test_contract_rate_one_point_per_thousand_clp():
    program = default_program("CLP", "es")
    assert points_for_order(money("25990", "CLP"), program).points == 25
    assert points_for_order(money("999", "CLP"), program).points == 0


def test_tier_multiplier_applies_and_is_recorded():
    decision = points_for_order(money("359.97", "USD"), usd_program(), Decimal("1.25"))
    assert decision.points == 449  # 359.97 * 1.25 = 449.96 -> floored
    assert (decision.per_amount, decision.points_per, decision.multiplier) == (Decimal(1), 1, Decimal("1.25"))
    assert decision.base == money("359.97", "USD")


def test_points_for_fixtures_at_the_default_rate():
    usd = order_facts_from_payload(webhook("orders__paid.json"), "USD")
    hkd = order_facts_from_payload(webhook("orders__create.hkd_real.json"), "HKD")
    assert points_for_order(usd.merchandise, default_program("USD")).points == 359
    assert points_for_order(hkd.merchandise, default_program("HKD")).points == 38  # 1 point per 10 HKD


def test_program_currency_must_match():
    with pytest.raises(ValueError):
        points_for_order(money("10", "USD"), default_program("CLP", "es"))


def test_float_multiplier_is_refused():
    with pytest.raises(TypeError):
        points_for_order(money("10", "USD"), usd_program(), 1.5)


@given(
    amount=st.decimals(min_value=0, max_value=10**8, places=2),
    per=st.sampled_from(["1", "0.50", "3", "7.77", "1000"]),
    points=st.integers(1, 50),
    multiplier=st.sampled_from(["1", "1.25", "1.5", "0.3333", "2"]),
)
def test_rounding_never_creates_points(amount, per, points, multiplier):
    program = usd_program(points=points, per=per)
    decision = points_for_order(money(amount, "USD"), program, Decimal(multiplier))
    exact = Fraction(amount) / Fraction(Decimal(per)) * points * Fraction(Decimal(multiplier))
    assert decision.points <= exact < decision.points + 1
    assert isinstance(decision.points, int)


def test_negative_base_gives_zero_not_negative_points():
    assert points_for_order(money("-5", "USD"), usd_program()).points == 0


def test_points_become_available_after_the_refund_window():
    program = default_program("USD")
    assert available_at(utc(2026, 3, 1, 12), program) == utc(2026, 3, 15, 12)


def test_block_reasons():
    program = default_program("USD")
    facts = order_facts_from_payload(webhook("orders__paid.json"), "USD")
    assert earn_block_reason(facts, "orders/paid", program) == "cancelled"
    live = order_facts_from_payload({**webhook("orders__paid.json"), "cancelled_at": None}, "USD")
    assert earn_block_reason(live, "orders/paid", program) is None
    assert earn_block_reason(live, "orders/create", program) == "not_earn_trigger"
    guest = order_facts_from_payload(webhook("orders__create.hkd_real.json"), "HKD")
    assert earn_block_reason(guest, "orders/paid", default_program("HKD")) == "no_customer"
    free = copy.deepcopy(webhook("orders__paid.json"))
    free.update(cancelled_at=None)
    free["subtotal_price_set"]["shop_money"]["amount"] = "0.00"
    assert earn_block_reason(order_facts_from_payload(free, "USD"), "orders/paid", program) == "nothing_to_earn"


def test_pos_orders_earn_like_online_orders():
    payload = {**webhook("orders__paid.json"), "source_name": "pos", "cancelled_at": None}
    facts = order_facts_from_payload(payload, "USD")
    assert facts.is_pos
    assert earn_block_reason(facts, "orders/paid", default_program("USD")) is None
    assert points_for_order(facts.merchandise, default_program("USD")).points == 359


def test_earned_at_prefers_processed_at():
    payload = {**webhook("orders__paid.json"), "processed_at": "2022-01-03T10:00:00Z"}
    assert order_facts_from_payload(payload, "USD").earned_at == utc(2022, 1, 3, 10)
    assert available_at(utc(2022, 1, 3, 10), default_program("USD")) - utc(2022, 1, 3, 10) == timedelta(days=14)


def test_program_loaded_from_contract_yields_same_rate():
    program = load_program({"currency": "CLP", "earn": {"points": 1, "per_amount": "1000"}})
    assert points_for_order(money("200000", "CLP"), program, Decimal("1.5")).points == 300


def test_payload_without_money_sets_uses_plain_shop_amounts():
    payload = {"id": 1, "created_at": "2026-03-01T10:00:00Z", "currency": "CLP", "subtotal_price": "25990",
               "customer": {"id": 7}, "line_items": []}
    facts = order_facts_from_payload(payload, "CLP")
    assert facts.merchandise == money("25990", "CLP") == facts.presentment_merchandise
    assert facts.customer_id == "7"
    with pytest.raises(OrderPayloadError):
        order_facts_from_payload({**payload, "currency": "USD"}, "CLP")
