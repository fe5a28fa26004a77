"""The loyalty program document (CONTRACT.md "Program document"), validated.

``load_program`` checks structure with ``program_schema.json`` and meaning in
code, and raises ``ProgramError`` naming the bad field (``tiers[1].threshold.metric``)
so ``program import`` and the admin API can tell the merchant what to fix.

Extensions beyond the contract (all optional, defaults in brackets):

- ``allow_negative_balance`` [false]: a refund clawback may push the balance
  below zero instead of writing off the shortfall.
- ``tier_grace_days`` [0]: days a customer keeps a tier after the rules say to
  downgrade (after a calendar-year rollover or a rolling window slid).
- ``tiers[].entry_points`` [0]: points granted once when a customer reaches the tier.
- ``tiers[].multiplier`` [1]: earn multiplier; a JSON number or a decimal string.
- ``rewards[].min_subtotal`` [none], ``rewards[].expires_in_days`` [30, 0 = never],
  ``rewards[].refund_points_on_expiry`` [false]: give the points back when the
  code expires unused.
- ``actions.marketing_consent`` [0]: points for subscribing to email marketing.
- ``actions.birthday_lead_days`` [30]: a birthday saved fewer days before it pays next year.
- ``actions.custom`` [none]: actions outside the store, ``[{id, points, limit, cooldown, name}]``
  (``review``, ``photo_review``, ``instagram_follow``…): ``limit`` awards per customer ever
  [unlimited], ``cooldown`` an ISO-8601 duration between two awards [none], ``name`` the label
  shoppers see when the widget has no translation of ``id``. Awarded through ``/v1`` and the
  review apps' webhooks; the integer actions above stay as they are.
- ``referral.friend.min_subtotal`` [none]; ``referral.pending_days`` [earn.pending_days].
- ``point_value`` [cheapest fixed_amount reward value / cost]: money one point is
  worth, used by analytics for the outstanding points liability.
- ``abandoned_checkout.incentive`` [10 % off]: the discount shown on ``incentive_on_step``.
- ``expiry``, ``referral`` and ``abandoned_checkout`` omitted or ``null`` switch
  that feature off (``default_program`` switches them all on).
- ``surveys`` [nps, 7 days after fulfilment, links valid 30 days]: the post-purchase
  feedback_request (``type`` nps | csat | ces, ``delay_days``, ``expiry_days``); ``null``
  switches it off. Omitted, the shop's older email settings (or these defaults) apply.

Money values are decimal strings (or integers) in the program currency with no
more decimals than the currency has (CLP "5000", USD "5.00", KWD "1.250").
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
from babel import Locale, UnknownLocaleError, localedata
from babel.numbers import format_currency, get_territory_currencies

from plugin.loyalty.rules.money import decimals_of, minor_units, quantize, to_decimal

EARN_TRIGGERS = ("orders/paid", "orders/create", "orders/fulfilled")
METRICS = ("spend", "points", "orders", "referrals")
TIER_PERIODS = ("lifetime", "calendar_year", "rolling_12_months")
REWARD_TYPES = ("fixed_amount", "percentage", "free_shipping")
ACTIONS = ("signup", "birthday", "marketing_consent")
SURVEY_TYPES = ("nps", "csat", "ces")
MAX_MULTIPLIER = Decimal(10)


class ProgramError(ValueError):
    """A program document the merchant must fix; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


DiscountType = Literal["fixed_amount", "percentage", "free_shipping"]
"""What a reward or a given-away discount takes off (the schema allows exactly these)."""


@dataclass(frozen=True)
class Earn:
    points: int
    per_amount: Decimal
    pending_days: int = 14
    on: str = "orders/paid"


@dataclass(frozen=True)
class CustomAction:
    """Points for something done outside the store, at most ``limit`` times, ``cooldown`` apart."""

    id: str
    points: int
    limit: int | None = None
    cooldown: str | None = None
    name: str | None = None

    @property
    def cooldown_delta(self) -> timedelta | None:
        return None if self.cooldown is None else parse_duration(self.cooldown)


@dataclass(frozen=True)
class Actions:
    signup: int = 0
    birthday: int = 0
    marketing_consent: int = 0
    # A birthday saved fewer days than this before it first pays out the following year,
    # so a shopper cannot type today's date for instant points.
    birthday_lead_days: int = 30
    custom: tuple[CustomAction, ...] = ()

    def custom_action(self, action_id: str) -> CustomAction | None:
        return next((a for a in self.custom if a.id == action_id), None)


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: Decimal


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: Threshold
    multiplier: Decimal = Decimal(1)
    entry_points: int = 0


@dataclass(frozen=True)
class Discount:
    """A discount given away (referral friend, checkout incentive)."""

    type: DiscountType
    value: Decimal | None
    min_subtotal: Decimal | None = None


@dataclass(frozen=True)
class Reward:
    id: str
    name: str
    cost: int
    type: DiscountType
    value: Decimal | None
    min_subtotal: Decimal | None = None
    expires_in_days: int = 30
    refund_points_on_expiry: bool = False


@dataclass(frozen=True)
class Referral:
    friend: Discount
    advocate_points: int
    pending_days: int | None = None


@dataclass(frozen=True)
class Expiry:
    inactive_days: int
    warn_days_before: tuple[int, ...] = ()


@dataclass(frozen=True)
class AbandonedCheckout:
    steps: tuple[str, ...]
    incentive_on_step: int | None = None
    incentive: Discount = field(default_factory=lambda: Discount("percentage", Decimal(10)))

    @property
    def delays(self) -> tuple[timedelta, ...]:
        """Each step's delay after the checkout was abandoned."""
        return tuple(parse_duration(step) for step in self.steps)


@dataclass(frozen=True)
class Surveys:
    """The post-purchase survey: which scale, how long after fulfilment, how long the links work."""

    type: str = "nps"
    delay_days: int = 7
    expiry_days: int = 30


@dataclass(frozen=True)
class Program:
    currency: str
    earn: Earn
    actions: Actions = Actions()
    tiers: tuple[Tier, ...] = ()
    tier_period: str = "rolling_12_months"
    rewards: tuple[Reward, ...] = ()
    referral: Referral | None = None
    expiry: Expiry | None = None
    abandoned_checkout: AbandonedCheckout | None = None
    allow_negative_balance: bool = False
    tier_grace_days: int = 0
    point_value: Decimal | None = None
    surveys: Surveys | None = Surveys()
    surveys_set: bool = False  # the document says ``surveys`` (else older email settings may apply)

    def tier(self, name: str | None) -> Tier | None:
        """The tier called ``name`` (None if absent or unknown)."""
        return next((t for t in self.tiers if t.name == name), None)

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    @property
    def referral_pending_days(self) -> int:
        if self.referral is None or self.referral.pending_days is None:
            return self.earn.pending_days
        return self.referral.pending_days


# ---------------------------------------------------------------- durations

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """ISO-8601 duration with fixed-length parts only (W, D, H, M, S): "PT24H", "P3D".

    Years and months are refused because their length depends on the date.
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or text in ("P", "PT"):
        raise ValueError(f"not an ISO-8601 duration like PT1H or P3D: {text!r}")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


# ---------------------------------------------------------------- loading

@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((Path(__file__).with_name("program_schema.json")).read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema() -> dict[str, Any]:
    """The JSON Schema of the program document (for the admin UI and docs)."""
    document: dict[str, Any] = _validator().schema
    return document


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _schema_error(error: jsonschema.ValidationError) -> ProgramError:
    parts = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = re.match(r"'([^']+)'", error.message)
        return ProgramError(_path(parts + [missing.group(1) if missing else "?"]), "is required")
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ProgramError(_path(parts + extra[:1]), "unknown field")
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return ProgramError(_path(parts), f"must be one of {choices} (got {error.instance!r})")
    if kind == "pattern" and error.validator_value.startswith("^[A-Z]{3}"):
        return ProgramError(_path(parts), f"must be an upper-case ISO-4217 code like CLP (got {error.instance!r})")
    if kind == "pattern" and error.validator_value.startswith("^[A-Za-z0-9_-]"):
        return ProgramError(_path(parts), f"must be 1-40 letters, digits, _ or - (got {error.instance!r})")
    if kind == "pattern" or (kind == "type" and "string" in error.validator_value and "integer" in error.validator_value):
        return ProgramError(_path(parts), f"must be a non-negative decimal string (got {error.instance!r})")
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return ProgramError(_path(parts), f"must be {wanted} (got {error.instance!r})")
    return ProgramError(_path(parts), error.message)


def _first_error(doc: Any) -> jsonschema.ValidationError | None:
    errors = list(_validator().iter_errors(doc))
    if not errors:
        return None
    # Deepest, then document order: the most specific field the merchant can fix.
    return min(errors, key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]))


class _Reader:
    """Turns validated JSON into dataclasses, raising ProgramError with paths."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.places = minor_units(currency)

    def money(self, raw: Any, path: str, *, positive: bool = False) -> Decimal:
        value = to_decimal(raw)
        if decimals_of(value) > self.places:
            raise ProgramError(path, f"{self.currency} allows {self.places} decimals (got {raw!r})")
        if positive and value <= 0:
            raise ProgramError(path, "must be greater than 0")
        return value

    def count(self, raw: Any, path: str) -> Decimal:
        value = to_decimal(raw)
        if value != value.to_integral_value():
            raise ProgramError(path, f"must be a whole number (got {raw!r})")
        return value

    def discount(self, raw: dict[str, Any], path: str) -> Discount:
        kind = raw["type"]
        value = raw.get("value")
        if kind == "free_shipping":
            if value is not None:
                raise ProgramError(f"{path}.value", "free_shipping takes no value")
            parsed = None
        elif value is None:
            raise ProgramError(f"{path}.value", "is required")
        elif kind == "percentage":
            parsed = to_decimal(value)
            if not Decimal(0) < parsed <= Decimal(100):
                raise ProgramError(f"{path}.value", f"percentage must be > 0 and <= 100 (got {value!r})")
            if decimals_of(parsed) > 2:
                raise ProgramError(f"{path}.value", f"at most 2 decimals (got {value!r})")
        else:
            parsed = self.money(value, f"{path}.value", positive=True)
        minimum = raw.get("min_subtotal")
        return Discount(kind, parsed, None if minimum is None else self.money(minimum, f"{path}.min_subtotal"))


def _multiplier(raw: Any, path: str) -> Decimal:
    if isinstance(raw, float):  # a JSON number parsed without parse_float=Decimal
        raw = repr(raw)
    try:
        value = to_decimal(raw)
    except (TypeError, ValueError):
        raise ProgramError(path, f"must be a number like 1.25 (got {raw!r})") from None
    if not Decimal(0) < value <= MAX_MULTIPLIER or decimals_of(value) > 4:
        raise ProgramError(path, f"must be > 0 and <= {MAX_MULTIPLIER} with at most 4 decimals (got {raw!r})")
    return value.normalize() if value == value.to_integral_value() else value


def load_program(doc: dict[str, Any]) -> Program:
    """Validate a program document and return it as frozen dataclasses."""
    error = _first_error(doc)
    if error is not None:
        raise _schema_error(error)
    try:
        currency = doc["currency"]
        minor_units(currency)
    except ValueError:
        raise ProgramError("currency", f"unknown ISO-4217 currency {doc['currency']!r}") from None
    read = _Reader(currency)

    raw_earn = doc["earn"]
    earn = Earn(
        points=raw_earn["points"],
        per_amount=read.money(raw_earn["per_amount"], "earn.per_amount", positive=True),
        pending_days=raw_earn.get("pending_days", 14),
        on=raw_earn.get("on", "orders/paid"),
    )
    actions = _actions(doc.get("actions", {}))
    tiers = tuple(_tier(read, raw, i) for i, raw in enumerate(doc.get("tiers", [])))
    _check_tiers(tiers)
    rewards = tuple(_reward(read, raw, i) for i, raw in enumerate(doc.get("rewards", [])))
    seen: set[str] = set()
    for i, reward in enumerate(rewards):
        if reward.id in seen:
            raise ProgramError(f"rewards[{i}].id", f"duplicate reward id {reward.id!r}")
        seen.add(reward.id)

    return Program(
        currency=currency,
        earn=earn,
        actions=actions,
        tiers=tiers,
        tier_period=doc.get("tier_period", "rolling_12_months"),
        rewards=rewards,
        referral=_referral(read, doc.get("referral")),
        expiry=_expiry(doc.get("expiry")),
        abandoned_checkout=_abandoned(read, doc.get("abandoned_checkout")),
        allow_negative_balance=doc.get("allow_negative_balance", False),
        tier_grace_days=doc.get("tier_grace_days", 0),
        point_value=_point_value(doc.get("point_value")),
        surveys=_surveys(doc["surveys"]) if "surveys" in doc else Surveys(),
        surveys_set="surveys" in doc,
    )


def _surveys(raw: Any) -> Surveys | None:
    if raw is None:
        return None
    return Surveys(raw.get("type", "nps"), raw.get("delay_days", 7), raw.get("expiry_days", 30))


def _actions(raw: dict[str, Any]) -> Actions:
    builtin = {name: value for name, value in raw.items() if name != "custom"}
    custom = []
    seen: set[str] = set()
    for i, item in enumerate(raw.get("custom") or ()):
        path = f"actions.custom[{i}]"
        if item["id"] in seen:
            raise ProgramError(f"{path}.id", f"duplicate action id {item['id']!r}")
        if item["id"] in ACTIONS + ("birthday_lead_days", "custom"):
            raise ProgramError(f"{path}.id", f"{item['id']!r} is a built-in action: set actions.{item['id']} instead")
        seen.add(item["id"])
        cooldown = item.get("cooldown")
        if cooldown is not None:
            try:
                parse_duration(cooldown)
            except ValueError as exc:
                raise ProgramError(f"{path}.cooldown", str(exc)) from None
        custom.append(CustomAction(item["id"], item["points"], item.get("limit"), cooldown, item.get("name")))
    return Actions(**builtin, custom=tuple(custom))


def _custom_action_doc(action: CustomAction) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": action.id, "points": action.points, "limit": action.limit,
                           "cooldown": action.cooldown}
    return doc | ({} if action.name is None else {"name": action.name})


def _point_value(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    value = to_decimal(raw)
    if value <= 0:
        raise ProgramError("point_value", "must be greater than 0")
    return value


def _tier(read: _Reader, raw: dict[str, Any], i: int) -> Tier:
    path = f"tiers[{i}]"
    metric = raw["threshold"]["metric"]
    value_path = f"{path}.threshold.value"
    raw_value = raw["threshold"]["value"]
    value = read.money(raw_value, value_path) if metric == "spend" else read.count(raw_value, value_path)
    multiplier = _multiplier(raw.get("multiplier", 1), f"{path}.multiplier")
    if not raw["name"].strip():
        raise ProgramError(f"{path}.name", "must not be blank")
    return Tier(raw["name"], Threshold(metric, value), multiplier, raw.get("entry_points", 0))


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    """Tiers are listed lowest first; a higher tier must be harder on its metric."""
    names: set[str] = set()
    last: dict[str, Decimal] = {}
    for i, tier in enumerate(tiers):
        if tier.name.casefold() in names:
            raise ProgramError(f"tiers[{i}].name", f"duplicate tier name {tier.name!r}")
        names.add(tier.name.casefold())
        metric, value = tier.threshold.metric, tier.threshold.value
        if metric in last and value <= last[metric]:
            raise ProgramError(
                f"tiers[{i}].threshold.value",
                f"must be above {last[metric]} (the previous {metric} tier): list tiers lowest first",
            )
        last[metric] = value


def _reward(read: _Reader, raw: dict[str, Any], i: int) -> Reward:
    path = f"rewards[{i}]"
    discount = read.discount(raw, path)
    return Reward(
        id=raw["id"],
        name=raw["name"],
        cost=raw["cost"],
        type=discount.type,
        value=discount.value,
        min_subtotal=discount.min_subtotal,
        expires_in_days=raw.get("expires_in_days", 30),
        refund_points_on_expiry=raw.get("refund_points_on_expiry", False),
    )


def _referral(read: _Reader, raw: Any) -> Referral | None:
    if raw is None:
        return None
    return Referral(read.discount(raw["friend"], "referral.friend"), raw["advocate_points"], raw.get("pending_days"))


def _expiry(raw: Any) -> Expiry | None:
    if raw is None:
        return None
    warn = tuple(raw.get("warn_days_before", ()))
    for j, days in enumerate(warn):
        if days >= raw["inactive_days"]:
            raise ProgramError(f"expiry.warn_days_before[{j}]", f"must be below inactive_days ({raw['inactive_days']})")
    if len(set(warn)) != len(warn):
        raise ProgramError("expiry.warn_days_before", "contains duplicates")
    return Expiry(raw["inactive_days"], tuple(sorted(warn, reverse=True)))


def _abandoned(read: _Reader, raw: Any) -> AbandonedCheckout | None:
    if raw is None:
        return None
    previous = timedelta(0)
    for j, step in enumerate(raw["steps"]):
        try:
            delay = parse_duration(step)
        except ValueError as exc:
            raise ProgramError(f"abandoned_checkout.steps[{j}]", str(exc)) from None
        if delay <= previous:
            raise ProgramError(f"abandoned_checkout.steps[{j}]", "each step must come later than the previous one")
        previous = delay
    step = raw.get("incentive_on_step")
    if step is not None and step > len(raw["steps"]):
        raise ProgramError("abandoned_checkout.incentive_on_step", f"there are only {len(raw['steps'])} steps")
    incentive = raw.get("incentive")
    return AbandonedCheckout(
        tuple(raw["steps"]),
        step,
        Discount("percentage", Decimal(10)) if incentive is None else read.discount(incentive, "abandoned_checkout.incentive"),
    )


# ---------------------------------------------------------------- dumping

def _dec(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def _money_text(value: Decimal, currency: str) -> str:
    return format(quantize(value, currency), "f")


def _number(value: Decimal) -> int | float:
    """JSON number for a multiplier; exact because multipliers have <= 4 decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


def _discount_doc(d: Discount, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": d.type}
    if d.value is not None:
        out["value"] = _dec(d.value) if d.type == "percentage" else _money_text(d.value, currency)
    if d.min_subtotal is not None:
        out["min_subtotal"] = _money_text(d.min_subtotal, currency)
    return out


def dump_program(program: Program) -> dict[str, Any]:
    """The program as a JSON-ready document (only str/int/float/bool/list/dict/None)."""
    c = program.currency
    tiers = []
    for t in program.tiers:
        value = _money_text(t.threshold.value, c) if t.threshold.metric == "spend" else int(t.threshold.value)
        tiers.append({
            "name": t.name,
            "threshold": {"metric": t.threshold.metric, "value": value},
            "multiplier": _number(t.multiplier),
            "entry_points": t.entry_points,
        })
    rewards = []
    for r in program.rewards:
        doc = {"id": r.id, "name": r.name, "cost": r.cost}
        doc.update(_discount_doc(Discount(r.type, r.value, r.min_subtotal), c))
        doc.update(expires_in_days=r.expires_in_days, refund_points_on_expiry=r.refund_points_on_expiry)
        rewards.append(doc)
    referral = None
    if program.referral is not None:
        referral = {"friend": _discount_doc(program.referral.friend, c), "advocate_points": program.referral.advocate_points}
        if program.referral.pending_days is not None:
            referral["pending_days"] = program.referral.pending_days
    expiry = None
    if program.expiry is not None:
        expiry = {"inactive_days": program.expiry.inactive_days, "warn_days_before": list(program.expiry.warn_days_before)}
    abandoned = None
    if program.abandoned_checkout is not None:
        a = program.abandoned_checkout
        abandoned = {"steps": list(a.steps), "incentive_on_step": a.incentive_on_step,
                     "incentive": _discount_doc(a.incentive, c)}
    return {
        "currency": c,
        "earn": {"points": program.earn.points, "per_amount": _money_text(program.earn.per_amount, c),
                 "pending_days": program.earn.pending_days, "on": program.earn.on},
        "actions": {name: getattr(program.actions, name) for name in ACTIONS + ("birthday_lead_days",)}
        | ({"custom": [_custom_action_doc(a) for a in program.actions.custom]} if program.actions.custom else {}),
        "tiers": tiers,
        "tier_period": program.tier_period,
        "tier_grace_days": program.tier_grace_days,
        "allow_negative_balance": program.allow_negative_balance,
        "rewards": rewards,
        "referral": referral,
        "expiry": expiry,
        "abandoned_checkout": abandoned,
    } | ({"surveys": surveys_doc(program.surveys)} if program.surveys_set else {}) \
      | ({} if program.point_value is None else {"point_value": _dec(program.point_value)})


def surveys_doc(surveys: Surveys | None) -> dict[str, Any] | None:
    if surveys is None:
        return None
    return {"type": surveys.type, "delay_days": surveys.delay_days, "expiry_days": surveys.expiry_days}


# ---------------------------------------------------------------- defaults

# Points per currency unit feel wrong when one unit is worth a fraction of a cent:
# scale thresholds and reward values so 1 point ~ 1 USD of spend everywhere.
_UNIT_SCALE = {
    "CLP": 1000, "COP": 1000, "ARS": 1000, "PYG": 10000, "KRW": 1000, "IDR": 10000,
    "VND": 10000, "UGX": 1000, "JPY": 100, "HUF": 100, "ISK": 100, "CRC": 500, "UYU": 10,
    "MXN": 10, "PHP": 10, "INR": 10, "TWD": 10, "HKD": 10, "CZK": 10, "DOP": 10,
}


# Reward names in the shop's language: {money} / {percent} are filled in for its currency.
_REWARD_COPY = {
    "en": {"fixed": "{money} off", "percent": "{percent} off", "ship": "Free shipping",
           "tiers": ("Bronze", "Silver", "Gold")},
    "es": {"fixed": "{money} de descuento", "percent": "{percent} de descuento", "ship": "Envío gratis",
           "tiers": ("Bronce", "Plata", "Oro")},
    "pt": {"fixed": "{money} de desconto", "percent": "{percent} de desconto", "ship": "Frete grátis",
           "tiers": ("Bronze", "Prata", "Ouro")},
}
_HOME_TERRITORY = {"USD": "US", "EUR": {"es": "ES", "pt": "PT", "en": "IE"}, "GBP": "GB", "BRL": "BR"}


def program_language(locale: str | None) -> str:
    """``es``, ``en`` or ``pt`` from a shop locale such as ``es-CL`` (anything else: ``en``)."""
    lang = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    return lang if lang in _REWARD_COPY else "en"


@cache
def _money_locale(lang: str, currency: str, region: str | None) -> str:
    """The Babel locale that writes ``currency`` the way its home market reads it (es_CL: $5.000)."""

    home = _HOME_TERRITORY.get(currency)
    home = home.get(lang) if isinstance(home, dict) else home
    candidates = [f"{lang}_{r}" for r in (region, home) if r]
    candidates += sorted(i for i in localedata.locale_identifiers()
                         if re.fullmatch(f"{lang}_[A-Z]{{2}}", i))
    for candidate in candidates:
        territory = candidate.split("_")[1]
        try:
            if str(Locale.parse(candidate)) == candidate and currency in get_territory_currencies(territory)[:1]:
                return candidate
        except (ValueError, LookupError, UnknownLocaleError):
            continue
    return lang


def reward_copy(locale: str | None, currency: str) -> dict[str, Any]:
    """Templates and formatters for default reward names in ``locale`` and ``currency``."""
    lang = program_language(locale)
    parts = re.split(r"[-_]", (locale or "").strip(), maxsplit=1)
    region = parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else None
    money_locale = _money_locale(lang, currency, region)

    def money(value: Decimal) -> str:
        return format_currency(value, currency, locale=money_locale).replace("\xa0", " ").replace("\u202f", " ")

    def percent(value: Decimal) -> str:
        return f"{value.normalize():f}%"

    return {"format_money": money, "format_percent": percent, **_REWARD_COPY[lang]}


@cache  # Program is immutable; shops without a document ask for it on every order
def default_program(currency: str, locale: str | None = None) -> Program:
    """A sensible starting program for a shop in ``currency`` (roughly 1 % back), its tier and
    reward names written in the shop's ``locale`` (es/en/pt; others and None: English)."""
    minor_units(currency)
    scale = Decimal(_UNIT_SCALE.get(currency, 1))
    copy = reward_copy(locale, currency)

    def amount(units: int) -> Decimal:
        return quantize(Decimal(units) * scale, currency)

    base, middle, top = copy["tiers"]
    return Program(
        currency=currency,
        earn=Earn(points=1, per_amount=amount(1), pending_days=14, on="orders/paid"),
        actions=Actions(signup=100, birthday=200, marketing_consent=50),
        tiers=(
            Tier(base, Threshold("spend", amount(0)), Decimal(1)),
            Tier(middle, Threshold("spend", amount(200)), Decimal("1.25"), entry_points=100),
            Tier(top, Threshold("referrals", Decimal(3)), Decimal("1.5"), entry_points=250),
        ),
        tier_period="rolling_12_months",
        rewards=(
            Reward("5off", copy["fixed"].format(money=copy["format_money"](amount(5))), 500, "fixed_amount", amount(5)),
            Reward("10pct", copy["percent"].format(percent=copy["format_percent"](Decimal(10))), 1000, "percentage",
                   Decimal(10), min_subtotal=amount(20)),
            Reward("ship", copy["ship"], 300, "free_shipping", None),
        ),
        referral=Referral(Discount("percentage", Decimal(10)), advocate_points=500),
        expiry=Expiry(365, (30, 7)),
        abandoned_checkout=AbandonedCheckout(("PT1H", "PT24H", "PT72H"), 3),
    )
