"""Billing through Shopify's Billing API, with Shopify stubbed by ``responses`` in the shapes
its docs give (appSubscriptionCreate, currentAppInstallation.activeSubscriptions,
node(id:) on AppSubscription, appSubscriptionCancel — see plugin/shopify/billing.py):
a merchant accepts, declines, cancels; BILLING=off charges nothing; past the allowance the
app keeps working and says so."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses
from sqlalchemy import select

from plugin import create_app
from plugin.billing.subscriptions import sync_billing
from plugin.config import DEFAULT_API_VERSION
from plugin.models import ShopBilling, utcnow
from plugin.orders.facts import OrderFacts
from plugin.orders.store import record_order
from tests.conftest import API_KEY, _truncate_all, base_env
from tests.integration.conftest import ADMIN_ORIGIN, add_shop, bearer, session_token
from tests.shopify_requests import SHOP

GRAPHQL = f"{ADMIN_ORIGIN}/admin/api/{DEFAULT_API_VERSION}/graphql.json"


class FakeBilling:
    """Shopify's side: subscriptions by gid; the merchant approves, declines or cancels."""

    def __init__(self):
        self.subscriptions: dict[str, dict] = {}
        self.calls: list[dict] = []

    def answer(self, request):
        body = json.loads(request.body)
        self.calls.append(body)
        operation = re.search(r"(query|mutation)\s+(\w+)", body["query"]).group(2)
        data = getattr(self, operation)(body.get("variables") or {})
        return 200, {}, json.dumps({"data": data, "extensions": {"cost": {
            "requestedQueryCost": 10, "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}})

    def AppSubscriptionCreate(self, v):  # noqa: N802 - named after the operation
        number = 29532323 + len(self.subscriptions)
        gid = f"gid://shopify/AppSubscription/{number}"
        self.subscriptions[gid] = {"id": gid, "name": v["name"], "status": "PENDING", "test": v["test"],
                                   "trialDays": v["trialDays"], "currentPeriodEnd": None,
                                   "createdAt": "2026-11-30T02:00:00Z"}
        url = (f"https://{SHOP}/admin/charges/4028497/{number}/RecurringApplicationCharge/"
               "confirm_recurring_application_charge?signature=BAh7BzoHaWRpBKPXwQE")
        return {"appSubscriptionCreate": {"appSubscription": self.subscriptions[gid], "confirmationUrl": url,
                                          "userErrors": []}}

    def ActiveSubscriptions(self, v):  # noqa: N802
        active = [s for s in self.subscriptions.values() if s["status"] == "ACTIVE"]
        return {"currentAppInstallation": {"activeSubscriptions": active}}

    def AppSubscriptionStatus(self, v):  # noqa: N802
        return {"node": self.subscriptions.get(v["id"])}

    def AppSubscriptionCancel(self, v):  # noqa: N802
        self.subscriptions[v["id"]]["status"] = "CANCELLED"
        return {"appSubscriptionCancel": {"appSubscription": self.subscriptions[v["id"]], "userErrors": []}}

    def merchant(self, decision: str) -> None:
        (gid,) = [g for g, s in self.subscriptions.items() if s["status"] == "PENDING"]
        self.subscriptions[gid]["status"] = decision
        if decision == "ACTIVE":
            self.subscriptions[gid]["currentPeriodEnd"] = "2026-12-30T02:00:00Z"

    def operations(self) -> list[str]:
        return [re.search(r"(query|mutation)\s+(\w+)", c["query"]).group(2) for c in self.calls]


def make_app(pg_url, **env):
    app = create_app(base_env(pg_url, **env))
    _truncate_all(app.extensions["embajador"].db)
    return app


@pytest.fixture
def billing_app(migrated, pg_url):
    app = make_app(pg_url, BILLING="on")
    with app.app_context():
        yield app
    app.extensions["embajador"].db.dispose()


@pytest.fixture
def shopify():
    fake = FakeBilling()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, GRAPHQL, callback=fake.answer)
        yield fake


def auth() -> dict:
    return bearer(session_token(shop=SHOP))


def subscribe(client, plan="growth"):
    return client.post("/api/billing/subscribe", json={"plan": plan}, headers=auth())


def test_accept_puts_the_shop_on_the_paid_plan_after_the_return_url(billing_app, shopify):
    client = billing_app.test_client()
    add_shop(billing_app.extensions["embajador"])
    before = client.get("/api/billing", headers=auth()).get_json()
    assert before["plan"]["id"] == "free" and before["usage"]["allowance"] == 100

    started = subscribe(client)
    assert started.status_code == 200, started.get_data(as_text=True)
    assert started.get_json()["confirmation_url"].startswith(f"https://{SHOP}/admin/charges/")
    assert started.get_json()["billing"]["pending_plan"]["id"] == "growth"
    sent = shopify.calls[0]["variables"]
    assert sent["name"] == "Embajador Growth" and sent["test"] is True and sent["trialDays"] == 14
    assert sent["returnUrl"] == f"https://embajador.test/billing/return?shop={SHOP}"
    assert sent["lineItems"] == [{"plan": {"appRecurringPricingDetails": {
        "price": {"amount": "29.00", "currencyCode": "USD"}, "interval": "EVERY_30_DAYS"}}}]

    shopify.merchant("ACTIVE")
    back = client.get(f"/billing/return?shop={SHOP}&charge_id=29532323")
    assert back.status_code == 302
    assert back.headers["Location"] == f"https://admin.shopify.com/store/embajador-test/apps/{API_KEY}/billing"

    after = client.get("/api/billing", headers=auth()).get_json()
    assert after["plan"]["id"] == "growth" and after["status"] == "ACTIVE" and after["test"] is True
    assert after["usage"]["allowance"] == 3000 and after["pending_plan"] is None
    assert after["trial_ends_at"].startswith("2026-12-14")
    assert after["current_period_end"].startswith("2026-12-30")


def test_decline_leaves_the_shop_on_the_free_plan(billing_app, shopify):
    client = billing_app.test_client()
    add_shop(billing_app.extensions["embajador"])
    subscribe(client)
    shopify.merchant("DECLINED")
    assert client.get(f"/billing/return?shop={SHOP}&charge_id=29532323").status_code == 302

    after = client.get("/api/billing", headers=auth()).get_json()
    assert after["plan"]["id"] == "free" and after["status"] == "DECLINED" and after["pending_plan"] is None
    assert shopify.operations() == ["AppSubscriptionCreate", "ActiveSubscriptions", "AppSubscriptionStatus"]


def test_cancel_in_shopify_is_seen_by_the_daily_sync_and_downgrade_cancels_in_shopify(billing_app, shopify):
    app_state, client = billing_app.extensions["embajador"], billing_app.test_client()
    add_shop(app_state)
    subscribe(client)
    shopify.merchant("ACTIVE")
    client.get(f"/billing/return?shop={SHOP}")
    (gid,) = shopify.subscriptions

    shopify.subscriptions[gid]["status"] = "CANCELLED"  # the merchant cancelled in Shopify
    assert sync_billing(app_state, utcnow())["synced"] == 0  # synced less than a day ago
    assert sync_billing(app_state, utcnow() + timedelta(hours=25))["synced"] == 1
    after = client.get("/api/billing", headers=auth()).get_json()
    assert after["plan"]["id"] == "free" and after["status"] == "CANCELLED"

    subscribe(client)
    shopify.merchant("ACTIVE")
    client.get(f"/billing/return?shop={SHOP}")
    assert client.get("/api/billing", headers=auth()).get_json()["plan"]["id"] == "growth"
    down = subscribe(client, "free")
    assert down.status_code == 200 and down.get_json()["confirmation_url"] is None
    assert down.get_json()["billing"]["plan"]["id"] == "free"
    cancel = next(c for c in shopify.calls if "appSubscriptionCancel" in c["query"])
    assert cancel["variables"]["id"] != gid and cancel["variables"]["prorate"] is True


def test_past_the_allowance_the_app_keeps_working_and_says_so(billing_app, shopify):
    app_state, client = billing_app.extensions["embajador"], billing_app.test_client()
    shop_id = add_shop(app_state)
    now = datetime.now(UTC)
    with app_state.db.transaction() as session:
        for n in range(101):
            record_order(session, shop_id, OrderFacts(
                order_id=str(5000 + n), customer_shopify_id=None, placed_at=now, total=Decimal("10"),
                current_total=Decimal("10"), currency="USD", financial_status="paid", cancelled=False,
                source_name="web", updated_at=now))
    usage = client.get("/api/billing", headers=auth()).get_json()["usage"]
    assert usage == {"orders": 101, "allowance": 100, "over": True, "since": now.date().replace(day=1).isoformat()}
    program = client.get("/api/program", headers=auth())
    assert program.status_code == 200  # nothing is gated


def test_billing_off_charges_nothing(migrated, pg_url, shopify):
    app = make_app(pg_url)  # BILLING unset: off
    with app.app_context():
        client = app.test_client()
        add_shop(app.extensions["embajador"])
        assert client.get("/api/billing", headers=auth()).get_json() == {"enabled": False}
        refused = subscribe(client)
        assert refused.status_code == 409 and "billing is off" in refused.get_json()["error"]
    app.extensions["embajador"].db.dispose()
    assert shopify.calls == []


def test_bad_requests_are_clear_4xx(billing_app, shopify):
    client = billing_app.test_client()
    add_shop(billing_app.extensions["embajador"])
    assert subscribe(client, "platinum").get_json()["field"] == "plan"
    assert client.post("/api/billing/subscribe", json={"plan": 3}, headers=auth()).status_code == 400
    assert client.get("/billing/return?shop=evil.example.com").status_code == 400
    assert client.get("/billing/return?shop=nobody.myshopify.com").status_code == 404
    assert shopify.calls == []
    with billing_app.extensions["embajador"].db.transaction() as session:
        assert session.execute(select(ShopBilling)).scalars().all() == []
