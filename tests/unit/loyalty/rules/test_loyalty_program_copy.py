"""Default reward names read naturally in the shop's language and currency."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from plugin.loyalty.rules.program import default_program, dump_program, load_program


def names(currency, locale):
    return [r.name for r in default_program(currency, locale).rewards]


@pytest.mark.parametrize("currency, locale, expected", [
    ("CLP", "es", ["$5.000 de descuento", "10% de descuento", "Envío gratis"]),
    ("CLP", "es-CL", ["$5.000 de descuento", "10% de descuento", "Envío gratis"]),
    ("EUR", "es", ["5,00 € de descuento", "10% de descuento", "Envío gratis"]),
    ("MXN", "es-MX", ["$50.00 de descuento", "10% de descuento", "Envío gratis"]),
    ("BRL", "pt-BR", ["R$ 5,00 de desconto", "10% de desconto", "Frete grátis"]),
    ("EUR", "pt", ["5,00 € de desconto", "10% de desconto", "Frete grátis"]),
    ("USD", "en", ["$5.00 off", "10% off", "Free shipping"]),
])
def test_reward_names_follow_the_shop_language_and_currency(currency, locale, expected):
    assert names(currency, locale) == expected


def test_without_a_supported_locale_names_are_english():
    assert names("USD", None) == names("USD", "fr") == ["$5.00 off", "10% off", "Free shipping"]


@pytest.mark.parametrize("currency, locale", [("CLP", "es"), ("BRL", "pt-BR"), ("JPY", "en"), ("EUR", "es")])
def test_localised_programs_round_trip_through_json(currency, locale):
    program = default_program(currency, locale)
    document = json.loads(json.dumps(dump_program(program), ensure_ascii=False), parse_float=Decimal)
    assert load_program(document) == program


def test_only_names_change_with_the_language():
    spanish, english = default_program("CLP", "es"), default_program("CLP", "en")
    strip = lambda p: [(r.id, r.cost, r.type, r.value, r.min_subtotal) for r in p.rewards]  # noqa: E731
    assert strip(spanish) == strip(english)
    same = lambda p: [(t.threshold, t.multiplier, t.entry_points) for t in p.tiers]  # noqa: E731
    assert same(spanish) == same(english) and spanish.earn == english.earn
    assert [t.name for t in spanish.tiers] != [t.name for t in english.tiers]
