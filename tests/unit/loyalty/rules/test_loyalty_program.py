import copy
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.loyalty.rules.program import (
    ProgramError,
    default_program,
    dump_program,
    load_program,
    parse_duration,
    schema,
)

CONTRACT_EXAMPLE = """{
  "currency": "CLP",
  "earn": {"points": 1, "per_amount": "1000", "pending_days": 14, "on": "orders/paid"},
  "actions": {"signup": 100, "birthday": 200},
  "tiers": [
    {"name": "Bronce", "threshold": {"metric": "spend", "value": "0"}, "multiplier": 1.0},
    {"name": "Plata", "threshold": {"metric": "spend", "value": "200000"}, "multiplier": 1.25},
    {"name": "Oro", "threshold": {"metric": "referrals", "value": 3}, "multiplier": 1.5}
  ],
  "tier_period": "rolling_12_months",
  "rewards": [{"id": "5k", "name": "$5.000 de descuento", "cost": 500, "type": "fixed_amount", "value": "5000"}],
  "referral": {"friend": {"type": "percentage", "value": "10"}, "advocate_points": 500},
  "expiry": {"inactive_days": 365, "warn_days_before": [30, 7]},
  "abandoned_checkout": {"steps": ["PT1H", "PT24H", "PT72H"], "incentive_on_step": 3}
}"""


def contract_doc():
    return json.loads(CONTRACT_EXAMPLE, parse_float=Decimal)


def error_of(doc) -> ProgramError:
    with pytest.raises(ProgramError) as info:
        load_program(doc)
    return info.value


def test_contract_example_loads_with_exact_values():
    program = load_program(contract_doc())
    assert program.currency == "CLP"
    assert program.earn.per_amount == Decimal(1000)
    assert [t.name for t in program.tiers] == ["Bronce", "Plata", "Oro"]
    assert program.tiers[1].multiplier == Decimal("1.25")
    assert program.tiers[2].threshold.value == 3
    assert program.reward("5k").value == Decimal(5000)
    assert program.referral.friend.value == Decimal(10)
    assert program.expiry.warn_days_before == (30, 7)
    assert program.abandoned_checkout.delays == (timedelta(hours=1), timedelta(hours=24), timedelta(hours=72))
    # extensions take their documented defaults
    assert program.allow_negative_balance is False
    assert program.tier_grace_days == 0
    assert program.rewards[0].expires_in_days == 30
    assert program.referral_pending_days == 14
    assert program.actions.marketing_consent == 0


def test_multiplier_written_as_float_json_is_read_as_written():
    program = load_program(json.loads(CONTRACT_EXAMPLE))  # plain json.loads: floats
    assert program.tiers[1].multiplier == Decimal("1.25")
    assert program == load_program(contract_doc())


def test_dump_is_plain_json_and_round_trips():
    program = load_program(contract_doc())
    text = json.dumps(dump_program(program))
    assert load_program(json.loads(text)) == program
    assert json.loads(text)["tiers"][1]["threshold"]["value"] == "200000"


@pytest.mark.parametrize("currency", ["CLP", "USD", "JPY", "KWD", "MXN", "EUR", "BRL", "COP"])
def test_default_program_is_valid_and_round_trips(currency):
    program = default_program(currency)
    assert load_program(json.loads(json.dumps(dump_program(program)))) == program
    assert [t.name for t in program.tiers] == ["Bronze", "Silver", "Gold"]  # no locale: English
    assert program.expiry.warn_days_before == (30, 7)
    assert program.abandoned_checkout.steps == ("PT1H", "PT24H", "PT72H")
    assert program.abandoned_checkout.incentive_on_step == 3


def test_default_program_scales_for_low_value_currencies():
    assert default_program("CLP", "es").earn.per_amount == Decimal(1000)  # as in the contract example
    assert default_program("CLP", "es").tiers[1].threshold.value == Decimal(200000)
    assert default_program("USD").earn.per_amount == Decimal(1)
    assert default_program("JPY").rewards[0].value == Decimal(500)


def test_minimal_document_switches_optional_features_off():
    program = load_program({"currency": "USD", "earn": {"points": 1, "per_amount": "1.00"}})
    assert program.tiers == () and program.rewards == ()
    assert program.expiry is None and program.referral is None and program.abandoned_checkout is None
    assert program.earn.on == "orders/paid" and program.earn.pending_days == 14


def _mutated(path_setter):
    doc = contract_doc()
    path_setter(doc)
    return doc


@pytest.mark.parametrize("mutate, path, fragment", [
    (lambda d: d["tiers"][1]["threshold"].__setitem__("metric", "purchases"), "tiers[1].threshold.metric", "spend, points, orders, referrals"),
    (lambda d: d.__setitem__("tier_period", "monthly"), "tier_period", "lifetime, calendar_year, rolling_12_months"),
    (lambda d: d["earn"].__setitem__("on", "orders/updated"), "earn.on", "orders/paid"),
    (lambda d: d["rewards"][0].__setitem__("type", "bogo"), "rewards[0].type", "fixed_amount"),
    (lambda d: d["tiers"][1]["threshold"].__setitem__("value", "200000.50"), "tiers[1].threshold.value", "CLP allows 0 decimals"),
    (lambda d: d["rewards"][0].__setitem__("value", "4999.9"), "rewards[0].value", "CLP allows 0 decimals"),
    (lambda d: d["earn"].__setitem__("per_amount", "0"), "earn.per_amount", "greater than 0"),
    (lambda d: d["earn"].__setitem__("per_amount", "mil"), "earn.per_amount", "decimal string"),
    (lambda d: d["earn"].__setitem__("per_amount", Decimal("1000.5")), "earn.per_amount", "decimal string"),
    (lambda d: d["tiers"][2].__setitem__("name", "Plata"), "tiers[2].name", "duplicate tier name"),
    (lambda d: d["tiers"][2].__setitem__("name", "plata"), "tiers[2].name", "duplicate tier name"),
    (lambda d: d["rewards"].append(dict(d["rewards"][0])), "rewards[1].id", "duplicate reward id"),
    (lambda d: d["tiers"][1]["threshold"].pop("value"), "tiers[1].threshold.value", "is required"),
    (lambda d: d["tiers"][0].__setitem__("colour", "bronze"), "tiers[0].colour", "unknown field"),
    (lambda d: d["referral"]["friend"].__setitem__("value", "0"), "referral.friend.value", "percentage must be > 0"),
    (lambda d: d["referral"]["friend"].__setitem__("value", "150"), "referral.friend.value", "<= 100"),
    (lambda d: d["rewards"][0].update(type="percentage", value="100.5"), "rewards[0].value", "<= 100"),
    (lambda d: d["rewards"][0].update(type="free_shipping"), "rewards[0].value", "free_shipping takes no value"),
    (lambda d: d["rewards"][0].pop("value"), "rewards[0].value", "is required"),
    (lambda d: d["abandoned_checkout"]["steps"].__setitem__(1, "1 day"), "abandoned_checkout.steps[1]", "ISO-8601"),
    (lambda d: d["abandoned_checkout"]["steps"].__setitem__(1, "P1M"), "abandoned_checkout.steps[1]", "ISO-8601"),
    (lambda d: d["abandoned_checkout"]["steps"].__setitem__(2, "PT12H"), "abandoned_checkout.steps[2]", "later than"),
    (lambda d: d["abandoned_checkout"].__setitem__("incentive_on_step", 4), "abandoned_checkout.incentive_on_step", "only 3 steps"),
    (lambda d: d["expiry"].__setitem__("warn_days_before", [400, 7]), "expiry.warn_days_before[0]", "below inactive_days"),
    (lambda d: d["tiers"][1]["threshold"].__setitem__("value", "0"), "tiers[1].threshold.value", "lowest first"),
    (lambda d: d["tiers"][2].__setitem__("multiplier", 0), "tiers[2].multiplier", "> 0"),
    (lambda d: d["tiers"][2]["threshold"].__setitem__("value", "2.5"), "tiers[2].threshold.value", "whole number"),
    (lambda d: d.__setitem__("currency", "XYZ"), "currency", "unknown ISO-4217"),
    (lambda d: d.__setitem__("currency", "clp"), "currency", "upper-case ISO-4217"),
    (lambda d: d["rewards"][0].__setitem__("id", "5k off!"), "rewards[0].id", "letters, digits"),
    (lambda d: d["tiers"][0].__setitem__("name", "   "), "tiers[0].name", "blank"),
    (lambda d: d["actions"].__setitem__("signup", -5), "actions.signup", "minimum"),
    (lambda d: d["actions"].__setitem__("referral", 5), "actions.referral", "unknown field"),
    (lambda d: d.pop("earn"), "earn", "is required"),
])
def test_bad_documents_name_the_field_to_fix(mutate, path, fragment):
    error = error_of(_mutated(mutate))
    assert error.path == path
    assert fragment in error.message
    assert str(error) == f"{path}: {error.message}"


def test_usd_money_allows_cents_but_not_fractions_of_cents():
    doc = {"currency": "USD", "earn": {"points": 1, "per_amount": "1.00"},
           "rewards": [{"id": "r", "name": "r", "cost": 10, "type": "fixed_amount", "value": "5.50"}]}
    assert load_program(doc).rewards[0].value == Decimal("5.50")
    doc["rewards"][0]["value"] = "5.505"
    assert error_of(doc).path == "rewards[0].value"


def test_kwd_allows_three_decimals():
    doc = {"currency": "KWD", "earn": {"points": 1, "per_amount": "0.250"}}
    assert load_program(doc).earn.per_amount == Decimal("0.25")


def test_not_an_object_is_reported_at_the_root():
    assert error_of([]).path == "$"


def test_schema_is_published_for_the_admin_ui():
    assert schema()["properties"]["tier_period"]["enum"] == ["lifetime", "calendar_year", "rolling_12_months"]


@pytest.mark.parametrize("text, expected", [
    ("PT1H", timedelta(hours=1)), ("PT24H", timedelta(hours=24)), ("P3D", timedelta(days=3)),
    ("P1DT12H", timedelta(days=1, hours=12)), ("PT30M", timedelta(minutes=30)), ("P1W", timedelta(weeks=1)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "1H", "PT1.5H", "P1Y", "P1M", "pt1h", "P1DT"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


program_docs = st.fixed_dictionaries({
    "currency": st.sampled_from(["CLP", "USD", "KWD"]),
    "earn": st.fixed_dictionaries({
        "points": st.integers(0, 100), "per_amount": st.integers(1, 10**6).map(str),
        "pending_days": st.integers(0, 60), "on": st.sampled_from(["orders/paid", "orders/create", "orders/fulfilled"]),
    }),
    "tier_period": st.sampled_from(["lifetime", "calendar_year", "rolling_12_months"]),
    "tier_grace_days": st.integers(0, 90),
    "allow_negative_balance": st.booleans(),
    "tiers": st.lists(st.sampled_from(["1", "1.25", "1.5", "2", "0.5"]), max_size=4).map(
        lambda ms: [{"name": f"T{i}", "threshold": {"metric": "orders", "value": i * 3},
                     "multiplier": Decimal(m), "entry_points": i * 10} for i, m in enumerate(ms)]),
})


@given(program_docs)
def test_any_valid_document_round_trips(doc):
    program = load_program(doc)
    assert load_program(json.loads(json.dumps(dump_program(program)))) == program
    assert load_program(copy.deepcopy(dump_program(program))) == program


@pytest.mark.parametrize("locale, names", [("es-CL", ["Bronce", "Plata", "Oro"]), ("en", ["Bronze", "Silver", "Gold"]),
                                           ("pt-BR", ["Bronze", "Prata", "Ouro"]), ("fr", ["Bronze", "Silver", "Gold"])])
def test_default_tier_names_are_in_the_shops_language(locale, names):
    assert [t.name for t in default_program("CLP", locale).tiers] == names


def test_surveys_section_is_read_switched_off_and_round_trips():
    doc = contract_doc()
    assert load_program(doc).surveys_set is False  # omitted: the shop's older email settings apply
    doc["surveys"] = {"type": "csat", "delay_days": 3, "expiry_days": 10}
    program = load_program(doc)
    assert (program.surveys.type, program.surveys.delay_days, program.surveys.expiry_days) == ("csat", 3, 10)
    assert dump_program(program)["surveys"] == {"type": "csat", "delay_days": 3, "expiry_days": 10}
    doc["surveys"] = None
    off = load_program(doc)
    assert off.surveys is None and off.surveys_set
    assert dump_program(off)["surveys"] is None


@pytest.mark.parametrize("surveys,path", [
    ({"type": "stars"}, "surveys.type"),
    ({"delay_days": -1}, "surveys.delay_days"),
    ({"expiry_days": 0}, "surveys.expiry_days"),
    ({"kind": "nps"}, "surveys.kind"),
])
def test_bad_surveys_name_the_field(surveys, path):
    doc = contract_doc()
    doc["surveys"] = surveys
    assert error_of(doc).path == path
