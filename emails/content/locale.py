"""Which language an email is written in, and which Babel locale formats its
numbers: the language follows the customer, the number format their country."""
from __future__ import annotations

import re
from typing import Literal

from babel import Locale, UnknownLocaleError

Lang = Literal["es", "en", "pt"]
SUPPORTED: tuple[str, ...] = ("es", "en", "pt")
DEFAULT_LANG: Lang = "en"

# Country used when we know the language only: the biggest market per language
# for Portuguese/English; Spanish without a country formats like Spain's CLDR
# data ("es"), which is also what Babel uses for unknown Spanish regions.
_DEFAULT_REGION = {"es": None, "en": "US", "pt": "BR"}
_SPLIT = re.compile(r"[-_]")


def _language_of(tag: str | None) -> str | None:
    if not tag or not tag.strip():
        return None
    return _SPLIT.split(tag.strip(), 1)[0].lower()


def choose_locale(customer_locale: str | None, shop_locale: str | None) -> Lang:
    """The email language: the customer's if we write it, else the shop's,
    else English. Accepts ``es-CL``, ``pt_BR``, ``PT-br``, ``en``..."""
    for tag in (customer_locale, shop_locale):
        lang = _language_of(tag)
        if lang in SUPPORTED:
            return lang  # type: ignore[return-value]
    return DEFAULT_LANG


def country_of(tag: str | None) -> str | None:
    """The region part of a locale tag (``es-cl`` -> ``CL``), if any."""
    if not tag:
        return None
    parts = _SPLIT.split(tag.strip())
    return parts[1].upper() if len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 2 else None


def babel_locale(lang: str, country: str | None = None) -> str:
    """The Babel locale id for formatting (``es_CL``, ``pt_BR``, ``en_US``).

    An unknown language/country pair falls back to the language's default so
    formatting never fails on an odd shop address."""
    lang = (lang or DEFAULT_LANG).lower()
    if lang not in SUPPORTED:
        lang = DEFAULT_LANG
    regions = [(country or "").upper() or None, _DEFAULT_REGION[lang]]
    for region in filter(None, regions):
        candidate = f"{lang}_{region}"
        try:
            if str(Locale.parse(candidate)) == candidate:  # Babel maps unknown regions silently
                return candidate
        except (UnknownLocaleError, ValueError):
            continue
    return lang
