"""A generated store history and what the pure rules say it must end as.

Payloads are Shopify's own fixtures (../shared/fixtures) with ids, people, amounts and
times changed, never a field Shopify does not send. The history is in true order; the
replay (``schedule``) adds duplicate deliveries and reorders it the way Shopify does.
"""
from __future__ import annotations

import copy
import json
import random
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from plugin.loyalty.rules.clawback import clawed_total, refunded_merchandise
from plugin.loyalty.rules.earning import order_facts_from_payload, points_for_order
from plugin.loyalty.rules.money import Money
from plugin.loyalty.rules.program import Program, default_program, dump_program, load_program
from plugin.referrals.landing import REF_PARAM  # the cart note attribute the theme fills from the landing
from plugin.referrals.rules.fraud import Party, ReferralFacts, canonical_email, fraud_reasons
from tests.shopify_requests import fixture_payload

CURRENCY = "USD"
# Big ids like Shopify's (> 2**53): a float anywhere on the way would lose them.
CUSTOMER_BASE = 8_900_000_000_000_000
ORDER_BASE = 5_500_000_000_000_000
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Not a webhook: a friend opening an advocate's link (GET /r/<code>, CONTRACT.md). The code is
# the advocate's, read from their widget when the landing is sent (it exists from first use).
LANDING = "referral/landing"
FRIEND_BASE = 10_000         # friends' person indexes start here


def chaos_program() -> Program:
    """The default program, with what makes the expected state order-independent: points
    available at once, tiers on lifetime spend all at ×1 (the multiplier an order earns
    at would otherwise depend on which webhook a worker happened to run first)."""
    doc = dump_program(default_program(CURRENCY, "es"))
    doc["earn"]["pending_days"] = 0
    doc["tier_period"] = "lifetime"
    doc["tiers"] = [
        {"name": "Bronce", "threshold": {"metric": "spend", "value": "0"}, "multiplier": 1},
        {"name": "Plata", "threshold": {"metric": "spend", "value": "300"}, "multiplier": 1},
        {"name": "Oro", "threshold": {"metric": "spend", "value": "900"}, "multiplier": 1},
    ]
    for feature in ("expiry", "abandoned_checkout"):
        doc.pop(feature, None)
    # Referrals stay (friends arrive through landings); the advocate's reward is available at
    # once like every earn here (no pending window to race a refund against).
    doc["referral"] = dict(doc["referral"], pending_days=0)
    return load_program(doc)


@dataclass
class Event:
    """One webhook Shopify would send once (before duplicates)."""

    seq: int
    topic: str
    payload: dict[str, Any]
    customer: int
    order: int | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    advocate: int | None = None  # a friend's order carrying this advocate's referral code

    def body(self, referral_code: str | None = None) -> bytes:
        """The request body; a friend's order gets its advocate's code in ``note_attributes``."""
        payload = self.payload
        if self.advocate is not None and self.topic != LANDING:
            if referral_code is None:
                raise ValueError("a friend's order needs its advocate's referral code")
            payload = dict(payload, note_attributes=[{"name": REF_PARAM, "value": referral_code}])
        return json.dumps(payload, default=str).encode()


@dataclass
class Person:
    index: int
    shopify_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    address1: str

    @property
    def pii(self) -> tuple[str, ...]:
        return (self.email, self.first_name, self.last_name, self.phone, self.address1)


@dataclass
class Order:
    shopify_id: int
    person: Person
    paid: dict[str, Any]
    refunds: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class ReferralCase:
    """A friend who landed on an advocate's link and paid one order."""

    advocate: Person
    friend: Person
    order_id: int
    user_agent: str


@dataclass
class History:
    events: list[Event]
    people: list[Person]
    orders: list[Order]
    referrals: list[ReferralCase] = field(default_factory=list)


def person(index: int, tag: str = "") -> Person:
    return Person(index=index, shopify_id=CUSTOMER_BASE + index, email=f"chaos{tag}{index}@shopper.example",
                  first_name=f"Nombre{tag}{index}x", last_name=f"Apellido{tag}{index}y",
                  phone=f"+569{zlib.crc32(tag.encode()) % 1000:03d}{index:05d}", address1=f"Calle Falsa {index}{tag} Depto 9")


def customer_payload(p: Person, at: datetime) -> dict[str, Any]:
    payload = fixture_payload("customers__create.json")
    address = dict(payload["default_address"], id=p.shopify_id + 7, customer_id=p.shopify_id,
                   first_name=p.first_name, last_name=p.last_name, address1=p.address1, phone=p.phone,
                   name=f"{p.first_name} {p.last_name}")
    payload.update(id=p.shopify_id, email=p.email, first_name=p.first_name, last_name=p.last_name, phone=p.phone,
                   created_at=at.isoformat(), updated_at=at.isoformat(), note=None, default_address=address,
                   admin_graphql_api_id=f"gid://shopify/Customer/{p.shopify_id}", addresses=[address])
    return payload


def consent_payload(p: Person, state: str, at: datetime) -> dict[str, Any]:
    """customers_email_marketing_consent/update, shaped as CONTRACT.md ("Consent") gives it."""
    return {"customer_id": p.shopify_id, "email_address": p.email,
            "email_marketing_consent": {"state": state, "opt_in_level": "single_opt_in",
                                        "consent_updated_at": at.isoformat()}}


def _money(amount: Decimal) -> dict[str, Any]:
    side = {"amount": f"{amount:.2f}", "currency_code": CURRENCY}
    return {"shop_money": dict(side), "presentment_money": dict(side)}


def order_payload(p: Person, order_id: int, prices: list[Decimal], at: datetime, status: str) -> dict[str, Any]:
    payload = fixture_payload("orders__paid.json")
    template = payload["line_items"][0]
    lines = []
    for n, price in enumerate(prices):
        line = copy.deepcopy(template)
        line.update(id=order_id * 10 + n, admin_graphql_api_id=f"gid://shopify/LineItem/{order_id * 10 + n}",
                    attributed_staffs=[], price=f"{price:.2f}", price_set=_money(price), quantity=1,
                    current_quantity=1, fulfillable_quantity=1, name=f"Producto {n}", title=f"Producto {n}")
        lines.append(line)
    subtotal = sum(prices, Decimal(0))
    customer = dict(payload["customer"], id=p.shopify_id, email=p.email, first_name=p.first_name,
                    last_name=p.last_name, admin_graphql_api_id=f"gid://shopify/Customer/{p.shopify_id}",
                    default_address=dict(payload["customer"]["default_address"], customer_id=p.shopify_id,
                                         first_name=p.first_name, last_name=p.last_name, address1=p.address1,
                                         phone=p.phone, name=f"{p.first_name} {p.last_name}"))
    payload.update(
        id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#C{order_id % 100000}",
        order_number=order_id % 100000, number=order_id % 100000, email=p.email, contact_email=p.email,
        customer=customer, line_items=lines, subtotal_price=f"{subtotal:.2f}", subtotal_price_set=_money(subtotal),
        current_subtotal_price=f"{subtotal:.2f}", current_subtotal_price_set=_money(subtotal),
        total_line_items_price=f"{subtotal:.2f}", total_line_items_price_set=_money(subtotal),
        total_price=f"{subtotal:.2f}", total_price_set=_money(subtotal), total_discounts="0.00",
        total_discounts_set=_money(Decimal(0)), total_tax="0.00", total_tax_set=_money(Decimal(0)),
        discount_codes=[], discount_applications=[], note_attributes=[], refunds=[], fulfillments=[],
        taxes_included=False, test=False, financial_status=status, cancelled_at=None, cancel_reason=None,
        created_at=at.isoformat(), processed_at=at.isoformat(), updated_at=at.isoformat(),
        checkout_token=None, cart_token=None, customer_locale="es", currency=CURRENCY, presentment_currency=CURRENCY,
        billing_address=None, shipping_address=None)
    return payload


def refund_payload(order: dict[str, Any], refund_id: int, line_indexes: list[int], at: datetime) -> dict[str, Any]:
    payload = fixture_payload("refunds__create.json")
    template = payload["refund_line_items"][0]
    items = []
    for n in line_indexes:
        line = order["line_items"][n]
        price = Decimal(line["price"])
        item = copy.deepcopy(template)
        item.update(id=refund_id * 10 + n, line_item_id=line["id"], quantity=1, subtotal=float(price),
                    subtotal_set=_money(price), total_tax=0, total_tax_set=_money(Decimal(0)),
                    line_item=dict(template["line_item"], id=line["id"], price=line["price"],
                                   price_set=line["price_set"], gift_card=False, quantity=1,
                                   title=line["title"], name=line["name"]))
        items.append(item)
    payload.update(id=refund_id, order_id=order["id"], admin_graphql_api_id=f"gid://shopify/Refund/{refund_id}",
                   created_at=at.isoformat(), processed_at=at.isoformat(), refund_line_items=items,
                   order_adjustments=[], refund_shipping_lines=[], transactions=[], note=None, user_id=None)
    return payload


def cancelled_payload(order: dict[str, Any], at: datetime) -> dict[str, Any]:
    return dict(order, cancelled_at=at.isoformat(), cancel_reason="customer", financial_status="voided",
                updated_at=at.isoformat())


def checkout_payload(p: Person, token: str, order: dict[str, Any], at: datetime) -> dict[str, Any]:
    payload = fixture_payload("checkouts__create.json")
    payload.update(id=int(order["id"]) + 3, token=token, cart_token=token[:32], email=p.email,
                   created_at=at.isoformat(), updated_at=at.isoformat(),
                   customer=dict(payload.get("customer") or {}, id=p.shopify_id, email=p.email,
                                 first_name=p.first_name, last_name=p.last_name))
    return payload


def generate(customers: int, orders_per_customer: int, seed: int = 7, tag: str = "",
             referrals: bool = False) -> History:
    """Customers (create, a consent update, a profile update), orders (create, paid, some
    updated), partial and full refunds, cancellations and checkouts, in true order.
    ``referrals``: every third customer is also an advocate whose friend lands on their link
    (``LANDING``), signs up and pays one order carrying the link's reference."""
    rng = random.Random(seed)
    events: list[Event] = []
    people, orders, cases = [], [], []
    clock = START

    def emit(topic: str, payload: dict[str, Any], who: Person, order: int | None = None,
             advocate: int | None = None) -> None:
        events.append(Event(len(events), topic, payload, who.shopify_id, order, advocate=advocate))

    for i in range(customers):
        p = person(i, tag)
        people.append(p)
        clock += timedelta(minutes=1)
        emit("customers/create", customer_payload(p, clock), p)
        if rng.random() < 0.5:
            emit("customers_email_marketing_consent/update", consent_payload(p, "subscribed", clock), p)
        for k in range(orders_per_customer):
            clock += timedelta(minutes=3)
            order_id = ORDER_BASE + i * 100 + k
            prices = [Decimal(rng.randint(5, 240)) + Decimal(rng.choice((0, 50, 99))) / 100
                      for _ in range(rng.randint(1, 4))]
            token = uuid.UUID(int=rng.getrandbits(128)).hex
            pending = order_payload(p, order_id, prices, clock, "pending")
            emit("checkouts/create", checkout_payload(p, token, pending, clock - timedelta(minutes=2)), p)
            emit("orders/create", pending, p, order_id)
            paid = dict(pending, financial_status="paid")
            emit("orders/paid", paid, p, order_id)
            order = Order(order_id, p, paid)
            orders.append(order)
            if rng.random() < 0.3:
                emit("orders/updated", dict(paid, updated_at=(clock + timedelta(minutes=1)).isoformat()), p, order_id)
            roll = rng.random()
            if roll < 0.25:   # partial refund of one line, sometimes a second one later
                lines = list(range(len(prices)))
                rng.shuffle(lines)
                refund = refund_payload(paid, order_id * 10 + 1, lines[:1], clock + timedelta(minutes=30))
                order.refunds.append(refund)
                emit("refunds/create", refund, p, order_id)
                if len(lines) > 2 and rng.random() < 0.5:
                    second = refund_payload(paid, order_id * 10 + 2, lines[1:2], clock + timedelta(minutes=40))
                    order.refunds.append(second)
                    emit("refunds/create", second, p, order_id)
            elif roll < 0.35:  # full refund
                refund = refund_payload(paid, order_id * 10 + 1, list(range(len(prices))), clock + timedelta(hours=1))
                order.refunds.append(refund)
                emit("refunds/create", refund, p, order_id)
            elif roll < 0.42:  # cancelled after payment
                order.cancelled = True
                emit("orders/cancelled", cancelled_payload(paid, clock + timedelta(hours=2)), p, order_id)
        if rng.random() < 0.3:
            update = customer_payload(p, clock)
            update["note"] = None
            emit("customers/update", dict(update, updated_at=(clock + timedelta(minutes=5)).isoformat()), p)
        if referrals and i % 3 == 1:
            clock += timedelta(minutes=7)
            friend = person(FRIEND_BASE + i, tag)
            people.append(friend)
            agent = f"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 amiga-{i}"
            emit(LANDING, {"advocate": p.shopify_id, "user_agent": agent}, p, advocate=p.shopify_id)
            emit("customers/create", customer_payload(friend, clock), friend)
            order_id = ORDER_BASE + (FRIEND_BASE + i) * 100
            prices = [Decimal(rng.randint(20, 200))]
            pending = order_payload(friend, order_id, prices, clock + timedelta(minutes=2), "pending")
            emit("orders/create", pending, friend, order_id, advocate=p.shopify_id)
            paid = dict(pending, financial_status="paid")
            emit("orders/paid", paid, friend, order_id, advocate=p.shopify_id)
            orders.append(Order(order_id, friend, paid))
            cases.append(ReferralCase(p, friend, order_id, agent))
    return History(events, people, orders, cases)


@dataclass(frozen=True)
class Expected:
    points: dict[int, int]             # shopify customer id -> available points
    tier_floor: dict[int, str]         # the tier of the final net spend
    tier_ceiling: dict[int, str]       # the tier the gross spend could have reached on the way
    referrals: dict[int, tuple[int, str]] = field(default_factory=dict)  # friend order -> (advocate, status)


def referral_outcome(case: ReferralCase) -> str:
    """What the fraud rules decide for a friend's order. The orders carry no browser IP, device
    or shipping address (none of those fingerprints), and it is the friend's only order; names
    stand in for their hashes (the rules only compare them)."""
    def party(who: Person) -> Party:
        return Party(customer_id=who.shopify_id, email=canonical_email(who.email),
                     name_hash=f"{who.first_name} {who.last_name}".lower())
    reasons = fraud_reasons(ReferralFacts(advocate=party(case.advocate), friend=party(case.friend)))
    return "held" if reasons else "successful"


def _tier_for(program: Program, spend: Decimal) -> str:
    reached = [t.name for t in program.tiers if t.threshold.metric == "spend" and spend >= t.threshold.value]
    return reached[-1]


def _subscribes(event: Event) -> bool:
    if event.topic == "customers_email_marketing_consent/update":
        return (event.payload.get("email_marketing_consent") or {}).get("state") == "subscribed"
    return event.topic.startswith(("orders/", "checkouts/")) and event.payload.get("buyer_accepts_marketing") is True


def expected_state(history: History, program: Program) -> Expected:
    """What the pure rules compute from the de-duplicated, correctly ordered history."""
    points = {p.shopify_id: program.actions.signup for p in history.people}
    # Subscribing pays ``actions.marketing_consent`` once per customer, whichever way Shopify
    # tells us: the consent topic, or ``buyer_accepts_marketing`` on an order or checkout.
    for who in {e.customer for e in history.events if _subscribes(e)}:
        points[who] += program.actions.marketing_consent
    net = {p.shopify_id: Decimal(0) for p in history.people}
    gross = dict(net)
    for order in history.orders:
        facts = order_facts_from_payload(order.paid, CURRENCY)
        gross[order.person.shopify_id] += facts.merchandise.amount
        if order.cancelled:
            continue
        earned = points_for_order(facts.merchandise, program, Decimal(1)).points
        refunded = sum((refunded_merchandise(r, CURRENCY).amount for r in order.refunds), Decimal(0))
        record = SimpleNamespace(points=earned, base=facts.merchandise)  # what clawback's EarnRecord reads
        points[order.person.shopify_id] += earned - clawed_total(record, Money(refunded, CURRENCY))
        net[order.person.shopify_id] += max(facts.merchandise.amount - refunded, Decimal(0))
    outcomes = {}
    for case in history.referrals:
        outcomes[case.order_id] = (case.advocate.shopify_id, referral_outcome(case))
        if outcomes[case.order_id][1] == "successful" and program.referral is not None:
            points[case.advocate.shopify_id] += program.referral.advocate_points
    return Expected(points=points, tier_floor={k: _tier_for(program, v) for k, v in net.items()},
                    tier_ceiling={k: _tier_for(program, v) for k, v in gross.items()}, referrals=outcomes)


@dataclass(frozen=True)
class Delivery:
    """One POST: an event, possibly again (same event id) or re-sent with a new id."""

    event: Event
    event_id: str
    kind: str  # "first", "duplicate", "resent"
    concurrent: bool = False  # sent at the same moment as the delivery before it


@dataclass
class Schedule:
    deliveries: list[Delivery]
    duplicates: int
    reordered: int


def schedule(history: History, seed: int = 11, duplicate_rate: float = 0.2, reorder_rate: float = 0.1) -> Schedule:
    """The send order: 20 % duplicate deliveries (same event id, some at the same moment),
    10 % out of order (refunds before their paid order; orders re-sent later with a new
    event id, as Shopify does when an order changes)."""
    rng = random.Random(seed)
    sequence = list(history.events)
    reordered = 0
    paid_at = {e.order: i for i, e in enumerate(sequence) if e.topic == "orders/paid"}
    for index in range(len(sequence)):
        event = sequence[index]
        if event.topic == "refunds/create" and rng.random() < reorder_rate * 4 and event.order in paid_at:
            sequence.remove(event)
            sequence.insert(max(paid_at[event.order] - 1, 0), event)
            paid_at = {e.order: i for i, e in enumerate(sequence) if e.topic == "orders/paid"}
            reordered += 1
    deliveries = [Delivery(e, e.event_id, "first") for e in sequence]
    target_reordered = int(len(history.events) * reorder_rate)
    order_events = [e for e in history.events if e.topic.startswith("orders/")]
    for event in rng.sample(order_events, k=min(len(order_events), max(target_reordered - reordered, 0))):
        resent = Delivery(event, str(uuid.uuid4()), "resent")
        deliveries.insert(rng.randint(len(deliveries) // 2, len(deliveries)), resent)
        reordered += 1
    duplicates = int(len(history.events) * duplicate_rate)
    for _ in range(duplicates):
        index = rng.randrange(len(deliveries))
        original = deliveries[index]
        if rng.random() < 0.4:   # at the same moment as the first copy
            deliveries.insert(index + 1, Delivery(original.event, original.event_id, "duplicate", concurrent=True))
        else:
            deliveries.insert(rng.randint(index, len(deliveries)), Delivery(original.event, original.event_id,
                                                                           "duplicate"))
    return Schedule(deliveries, duplicates, reordered)


def units(deliveries: list[Delivery]) -> Iterator[list[Delivery]]:
    """Groups to send at one moment: a delivery with its concurrent duplicates."""
    group: list[Delivery] = []
    for delivery in deliveries:
        if group and not delivery.concurrent:
            yield group
            group = []
        group.append(delivery)
    if group:
        yield group
