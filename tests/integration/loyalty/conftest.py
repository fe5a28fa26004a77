"""Shared arrangements for the loyalty integration tests: a shop with a program, real
order payloads made payable, the fake Shopify Admin behind ``responses``, and the check
that every cached balance equals its ledger."""
from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.loyalty.actions import adjust_points
from plugin.loyalty.balances import balance_drift
from plugin.loyalty.rules.program import default_program, dump_program
from plugin.models import Customer, CustomerEvent, LedgerEntry, Shop, WebhookDelivery, utcnow
from plugin.shopify.signatures import sign_app_proxy
from tests.conftest import API_SECRET
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP, fixture_payload, post_webhook

ADMIN_ORIGIN = "https://admin.shopify.test"


def setup_shop(app_state, currency="USD", **program_changes) -> int:
    shop_id = add_shop(app_state)
    doc = dump_program(default_program(currency, "es"))  # the Spanish default tiers: Bronce, Plata, Oro
    doc.update(program_changes)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.currency, shop.program, shop.name = currency, doc, "Tienda Test"
    return shop_id


def recently(days_ago: float = 1) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0)


def payable(fixture="orders__paid.json", at: datetime | None = None, currency: str | None = None, **changes) -> dict:
    """A docs order fixture as a real paid order (the docs ones are cancelled/voided)."""
    text = json.dumps(fixture_payload(fixture), default=str)
    if currency:
        text = text.replace('"USD"', f'"{currency}"')
    payload = json.loads(text)
    # buyer_accepts_marketing (the fixture says true) would also subscribe and pay consent points;
    # these tests are about earning, so the buyer declines unless a test says otherwise.
    payload.update(cancelled_at=None, financial_status="paid", cancel_reason=None, buyer_accepts_marketing=False)
    if at is not None:
        payload["created_at"] = payload["processed_at"] = at.isoformat()
    payload.update(changes)
    return payload


def send(client, topic, payload, event_id=None):
    response = post_webhook(client, topic, payload, event_id=event_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def outcomes(app_state, topic=None) -> list:
    with app_state.db.transaction() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if topic:
            query = query.where(WebhookDelivery.topic == topic)
        return [(d.status, d.outcome) for d in session.execute(query).scalars()]


def customer(app_state, shopify_id=None, email=None) -> Customer:
    with app_state.db.transaction() as session:
        query = select(Customer)
        if shopify_id:
            query = query.where(Customer.shopify_id == str(shopify_id))
        if email:
            query = query.where(Customer.email == email)
        return session.execute(query).scalar_one()


def entries(app_state, kind=None) -> list[LedgerEntry]:
    with app_state.db.transaction() as session:
        query = select(LedgerEntry).order_by(LedgerEntry.id)
        if kind:
            query = query.where(LedgerEntry.kind == kind)
        return session.execute(query).scalars().all()


def events(app_state, kind=None) -> list[CustomerEvent]:
    with app_state.db.transaction() as session:
        query = select(CustomerEvent).order_by(CustomerEvent.id)
        if kind:
            query = query.where(CustomerEvent.kind == kind)
        return session.execute(query).scalars().all()


def assert_no_drift(app_state) -> None:
    """Every cached balance equals the sum of that customer's ledger entries."""
    with app_state.db.transaction() as session:
        for row in session.execute(select(Customer)).scalars():
            drift = balance_drift(session, row)
            assert (drift.available, drift.pending) == (0, 0), f"customer {row.id} drifts by {drift}"


def deep(value):
    return copy.deepcopy(value)


def run_tick(app_state, now):
    """Every TICK_TASKS entry in order, as ``run_tick`` does, minus its advisory lock: that
    lock is per database, so another test run sharing this Postgres would make it skip."""
    from plugin.jobs.queue import resolve
    from plugin.jobs.tick import TICK_TASKS
    return {name: resolve(path)(app_state, now) for name, path in TICK_TASKS}


JON = "115310627314723954"


def shopper_with(app_state, client, points: int) -> int:
    """Jon, known from his customers/create, with exactly ``points`` available."""
    send(client, "customers/create", {"id": int(JON), "email": "jon@example.com", "first_name": "Jon",
                                      "updated_at": recently(3).isoformat()})
    with app_state.db.transaction() as session:
        from sqlalchemy import select

        from plugin.models import Customer, Shop
        shop = session.execute(select(Shop)).scalar_one()
        jon = session.execute(select(Customer)).scalar_one()
        jon.locale = "es-CL"  # Shopify's Customer.locale (not in the webhook), as the tick would read it
        adjust_points(session, shop, jon, points - jon.points_available, "test balance", "test", utcnow())
        return jon.id


def proxy_params(customer_id: str = "", shop: str = SHOP, age: int = 0, secret: str = API_SECRET) -> dict:
    params = {"shop": shop, "path_prefix": "/apps/embajador", "timestamp": str(int(time.time()) - age),
              "logged_in_customer_id": customer_id}
    params["signature"] = sign_app_proxy(params, secret)
    return params
