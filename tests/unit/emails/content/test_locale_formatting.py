"""Language choice and number formats a shopper in each market expects."""
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emails.content.flows import FLOWS, UnknownFlowError, get_flow, may_send, pick_within_cap
from emails.content.formatting import Discount, format_date, format_discount, format_money, format_points
from emails.content.locale import babel_locale, choose_locale

CONTRACT_FLOWS = {"welcome", "points_earned", "reward_available", "tier_changed", "expiry_warning",
                  "expiry_last_chance", "birthday", "referral_invite", "referral_reward",
                  "feedback_request", "win_back", "abandoned_checkout_1", "abandoned_checkout_2",
                  "abandoned_checkout_3"}


@pytest.mark.parametrize("customer,shop,expected", [
    ("es-CL", "en", "es"), ("pt_BR", None, "pt"), ("PT-br", "es", "pt"), ("en-US", "es", "en"),
    ("ES", None, "es"), ("fr-FR", "es-MX", "es"), ("de", None, "en"), (None, "pt-PT", "pt"),
    (None, None, "en"), ("", "  ", "en"), ("fr", "it", "en"),
])
def test_choose_locale(customer, shop, expected):
    assert choose_locale(customer, shop) == expected


@pytest.mark.parametrize("lang,country,expected", [
    ("es", "CL", "es_CL"), ("es", "MX", "es_MX"), ("pt", "BR", "pt_BR"), ("en", "US", "en_US"),
    ("pt", None, "pt_BR"), ("en", None, "en_US"), ("es", None, "es"), ("es", "ZZ", "es"),
    ("es", "co", "es_CO"), ("xx", "CL", "en_US"), ("en", "CL", "en_US"),
])
def test_babel_locale(lang, country, expected):
    assert babel_locale(lang, country) == expected


@pytest.mark.parametrize("amount,currency,locale,expected", [
    ("5000", "CLP", "es_CL", "$5.000"),
    ("4999.6", "CLP", "es_CL", "$5.000"),  # no centavos in Chile: rounded half-up
    ("12.5", "USD", "en_US", "$12.50"),
    ("1234.5", "MXN", "es_MX", "$1,234.50"),
    ("1234.5", "EUR", "es_ES", "1.234,50\xa0€"),
    ("12.5", "EUR", "pt_PT", "12,50\xa0€"),
    ("1234.5", "BRL", "pt_BR", "R$\xa01.234,50"),
    ("5000", "JPY", "en_US", "¥5,000"),
    ("0.005", "USD", "en_US", "$0.01"),
])
def test_format_money(amount, currency, locale, expected):
    assert format_money(Decimal(amount), currency, locale) == expected


def test_format_money_refuses_floats():
    with pytest.raises(TypeError):
        format_money(12.5, "USD", "en_US")


@given(st.integers(min_value=0, max_value=10**9))
def test_clp_never_shows_decimals(n):
    assert "," not in format_money(Decimal(n), "CLP", "es_CL")


@pytest.mark.parametrize("n,locale,expected", [(12500, "es_CL", "12.500"), (12500, "en_US", "12,500"),
                                               (1250, "pt_BR", "1.250"), (7, "es", "7")])
def test_format_points(n, locale, expected):
    assert format_points(n, locale) == expected


def test_format_date_and_discount():
    day = dt.date(2026, 3, 15)
    assert format_date(day, "es_CL") == "15 de marzo de 2026"
    assert format_date(dt.datetime(2026, 3, 15, 23, 0), "en_US") == "March 15, 2026"
    assert format_discount(Discount("percentage", Decimal("10")), "es_CL") == "10%"
    assert format_discount(Discount("fixed_amount", Decimal("5000"), "CLP"), "es_CL") == "$5.000"
    with pytest.raises(ValueError):
        Discount("fixed_amount", Decimal("5"))


def test_catalogue_covers_the_contract_flows():
    assert CONTRACT_FLOWS <= set(FLOWS)
    assert get_flow("complaint_opened").audience == "merchant"
    with pytest.raises(UnknownFlowError, match="welcom"):
        get_flow("welcom")


def test_marketing_needs_subscribed_consent():
    marketing = [f for f in FLOWS.values() if f.marketing]
    assert {f.name for f in marketing} >= {"win_back", "abandoned_checkout_1", "birthday"}
    for flow in marketing:
        assert may_send(flow, "SUBSCRIBED") and may_send(flow, "subscribed")
        for state in ("NOT_SUBSCRIBED", "UNSUBSCRIBED", "PENDING", "REDACTED", None):
            assert not may_send(flow, state)
    assert may_send(get_flow("points_earned"), None)


def test_frequency_cap_keeps_the_most_important_and_never_drops_merchant_mail():
    due = [get_flow(n) for n in ("win_back", "points_earned", "complaint_opened", "abandoned_checkout_1")]
    kept = [f.name for f in pick_within_cap(due, 1)]
    assert kept == ["complaint_opened", "points_earned"]


def test_every_flow_has_categories_for_stats():
    for flow in FLOWS.values():
        assert flow.categories[0] == "embajador" and len(set(flow.categories)) == 3
