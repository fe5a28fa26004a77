"""Points for what members do (marketing consent, birthdays), birthday capture, the base tier
on signup, metafields written right after a ledger change, and default reward names in the
shop's language — all through signed webhooks, the App Proxy, the CLI and the admin API."""
from __future__ import annotations

import time
from datetime import UTC, date, datetime

import responses
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from plugin.jobs.queue import QUEUE_NAME
from plugin.models import Customer, OutboxMessage, Shop
from plugin.shopify.signatures import sign_app_proxy
from tests.conftest import API_SECRET
from tests.integration.conftest import add_shop, bearer, run_scheduled_jobs_now, session_token
from tests.integration.loyalty.conftest import (
    ADMIN_ORIGIN,
    assert_no_drift,
    customer,
    entries,
    events,
    payable,
    recently,
    run_tick,
    send,
    setup_shop,
)
from tests.shopify_requests import SHOP, consent_payload, fixture_payload

BOB = "706405506930370084"
JON = "115310627314723954"


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["embajador", *args])


def bob(topic: str, at: str, **changes) -> dict:
    """Shopify's customers/create|update fixture (no consent inside since API 2025-01)."""
    payload = fixture_payload(f"customers__{topic}.json")
    payload.update(updated_at=at, **changes)
    return payload


def send_bob(client, topic: str, state: str | None, at: str, **changes) -> None:
    """customers/<topic> for Bob, then — as Shopify does — his consent on its own topic."""
    send(client, f"customers/{topic}", bob(topic, at, **changes))
    if state:
        send(client, "customers_email_marketing_consent/update", consent_payload(int(BOB), "bob@biller.com", state, at))


def proxy(client, method: str, path: str, customer_id: str = BOB, **kwargs):
    params = {"shop": SHOP, "path_prefix": "/apps/embajador", "timestamp": str(int(time.time())),
              "logged_in_customer_id": customer_id}
    params["signature"] = sign_app_proxy(params, API_SECRET)
    return getattr(client, method)(path, query_string=params, **kwargs)


def action_keys(app_state) -> list[str]:
    return [e.key.split(":")[3] for e in entries(app_state, "action")]


# ---------------------------------------------------------------- marketing consent

def test_subscribing_later_pays_consent_points_once_and_unsubscribing_keeps_them(client, app_state):
    setup_shop(app_state)
    send_bob(client, "create", "not_subscribed", "2026-03-01T10:00:00Z")
    assert customer(app_state, BOB).points_available == 100  # signup only
    send_bob(client, "update", "subscribed", "2026-03-02T10:00:00Z")
    assert customer(app_state, BOB).points_available == 150
    send_bob(client, "update", "unsubscribed", "2026-03-03T10:00:00Z")
    assert customer(app_state, BOB).points_available == 150  # never clawed back
    send_bob(client, "update", "subscribed", "2026-03-04T10:00:00Z")
    assert customer(app_state, BOB).points_available == 150  # once per customer ever
    assert sorted(action_keys(app_state)) == ["marketing_consent", "signup"]
    # emails have no consent flow, so no event for it: only the welcome
    assert [e.kind for e in events(app_state)] == ["welcome"]
    assert_no_drift(app_state)


def test_a_stale_or_unrelated_update_pays_nothing(client, app_state):
    setup_shop(app_state)
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z")
    assert customer(app_state, BOB).points_available == 150  # signup + consent at signup
    send_bob(client, "update", "unsubscribed", "2026-03-05T10:00:00Z")
    send_bob(client, "update", "subscribed", "2026-03-04T10:00:00Z")  # older: ignored
    assert customer(app_state, BOB).marketing_state == "UNSUBSCRIBED"
    send_bob(client, "update", None, "2026-03-06T10:00:00Z", first_name="Roberto")
    assert customer(app_state, BOB).points_available == 150
    assert len(entries(app_state, "action")) == 2


# ---------------------------------------------------------------- birthday capture

def test_shopper_gives_their_birthday_once_through_the_app_proxy(client, app_state):
    setup_shop(app_state)
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z")
    guest = proxy(client, "post", "/proxy/birthday", customer_id="", json={"birthday": "1990-05-17"})
    assert guest.status_code == 401
    for bad, why in [({}, "required"), ({"birthday": "17/05/1990"}, "YYYY-MM-DD"),
                     ({"birthday": "1990-02-30"}, "not a calendar date"), ({"birthday": "2999-01-01"}, "future"),
                     ({"birthday": 19900517}, "YYYY-MM-DD")]:
        response = proxy(client, "post", "/proxy/birthday", json=bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"].startswith("birthday:") and why in response.get_json()["error"]
    assert customer(app_state, BOB).birthday is None
    saved = proxy(client, "post", "/proxy/birthday", json={"birthday": "1990-05-17"})
    assert (saved.status_code, saved.get_json()) == (200, {"birthday": "1990-05-17"})
    assert proxy(client, "post", "/proxy/birthday", json={"birthday": "1990-05-17"}).status_code == 200
    changed = proxy(client, "post", "/proxy/birthday", json={"birthday": "1991-01-01"})
    assert changed.status_code == 409 and "contact the store" in changed.get_json()["error"]
    assert customer(app_state, BOB).birthday == date(1990, 5, 17)
    unsigned = client.post("/proxy/birthday", query_string={"shop": SHOP, "logged_in_customer_id": BOB},
                           json={"birthday": "1991-01-01"})
    assert unsigned.status_code == 401


def test_merchant_corrects_a_birthday_from_the_cli_and_the_admin_api(app, client, app_state):
    setup_shop(app_state)
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z")
    assert proxy(client, "post", "/proxy/birthday", json={"birthday": "1990-05-17"}).status_code == 200
    ok = cli(app, "points", "birthday", "--shop", SHOP, "--customer", "bob@biller.com", "--date", "1990-07-05")
    assert ok.exit_code == 0 and "1990-07-05" in ok.output
    bad = cli(app, "points", "birthday", "--shop", SHOP, "--customer", BOB, "--date", "July 5")
    assert bad.exit_code != 0 and "--date:" in bad.output and len(bad.output.strip().splitlines()) == 1
    assert customer(app_state, BOB).birthday == date(1990, 7, 5)
    headers = bearer(session_token())
    api = client.put(f"/api/customers/{BOB}/birthday", json={"birthday": "1990-07-06"}, headers=headers)
    assert (api.status_code, api.get_json()) == (200, {"customer_id": BOB, "birthday": "1990-07-06"})
    refused = client.put(f"/api/customers/{BOB}/birthday", json={"birthday": "tomorrow"}, headers=headers)
    assert refused.status_code == 400 and refused.get_json()["field"] == "birthday"
    assert client.put("/api/customers/1/birthday", json={"birthday": "1990-07-06"}, headers=headers).status_code == 404
    assert client.put(f"/api/customers/{BOB}/birthday", json={"birthday": "1990-07-07"}).status_code == 401
    assert customer(app_state, BOB).birthday == date(1990, 7, 6)


def test_birthday_comes_from_shopifys_standard_metafield_in_customer_webhooks(client, app_state):
    setup_shop(app_state)
    birth = [{"namespace": "facts", "key": "birth_date", "type": "date", "value": "1988-11-02"}]
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z", metafields=birth)
    assert customer(app_state, BOB).birthday == date(1988, 11, 2)
    other = [{"namespace": "custom", "key": "birth_date", "value": "1970-01-01"}]
    send_bob(client, "update", "subscribed", "2026-03-02T10:00:00Z", metafields=other)
    assert customer(app_state, BOB).birthday == date(1988, 11, 2)  # not the standard field: ignored
    corrected = [{"namespace": "facts", "key": "birth_date", "type": "date", "value": "1988-11-03"}]
    send_bob(client, "update", "subscribed", "2026-03-03T10:00:00Z", metafields=corrected)
    assert customer(app_state, BOB).birthday == date(1988, 11, 3)


def _birthday_shop(app_state, client, birthday: str, timezone_name: str = "America/Santiago") -> None:
    shop_id = setup_shop(app_state)
    with app_state.db.transaction() as session:
        session.get(Shop, shop_id).iana_timezone = timezone_name
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z")
    assert proxy(client, "post", "/proxy/birthday", json={"birthday": birthday}).status_code == 200
    with app_state.db.transaction() as session:  # saved long before the ticks below (lead time: tests/security)
        session.execute(select(Customer).where(Customer.shopify_id == str(BOB))).scalar_one().birthday_saved_on = \
            date(2025, 1, 1)


def test_birthday_points_arrive_once_a_year_on_the_shops_local_date(client, app_state, fake_admin):
    _birthday_shop(app_state, client, "1990-05-17")
    before = customer(app_state, BOB).points_available
    # 17 May 02:00 UTC is still 16 May in Santiago (UTC-4)
    assert run_tick(app_state, datetime(2026, 5, 17, 2, 0, tzinfo=UTC))["birthdays"] == {"birthdays": 0}
    assert customer(app_state, BOB).points_available == before
    local_morning = datetime(2026, 5, 17, 13, 0, tzinfo=UTC)
    assert run_tick(app_state, local_morning)["birthdays"] == {"birthdays": 1}
    assert run_tick(app_state, local_morning)["birthdays"] == {"birthdays": 0}
    # 18 May 03:30 UTC is still the 17th in Santiago: no second award the same year
    assert run_tick(app_state, datetime(2026, 5, 18, 3, 30, tzinfo=UTC))["birthdays"] == {"birthdays": 0}
    assert customer(app_state, BOB).points_available == before + 200
    assert [e.data for e in events(app_state, "birthday")] == [{"birthday_points": 200}]
    run_tick(app_state, datetime(2027, 5, 17, 13, 0, tzinfo=UTC))
    assert customer(app_state, BOB).points_available == before + 400
    assert [e.key.rsplit(":", 1)[1] for e in events(app_state, "birthday")] == ["2026", "2027"]
    with app_state.db.transaction() as session:
        birthday_mail = session.execute(select(OutboxMessage).where(OutboxMessage.flow == "birthday")).scalars().all()
    assert [m.to_email for m in birthday_mail] == ["bob@biller.com", "bob@biller.com"]
    assert_no_drift(app_state)


def test_a_29_february_birthday_is_celebrated_on_28_february_in_common_years(client, app_state, fake_admin):
    _birthday_shop(app_state, client, "2000-02-29", "UTC")
    assert run_tick(app_state, datetime(2027, 2, 28, 12, tzinfo=UTC))["birthdays"] == {"birthdays": 1}
    assert run_tick(app_state, datetime(2027, 3, 1, 12, tzinfo=UTC))["birthdays"] == {"birthdays": 0}
    assert run_tick(app_state, datetime(2028, 2, 28, 12, tzinfo=UTC))["birthdays"] == {"birthdays": 0}
    assert run_tick(app_state, datetime(2028, 2, 29, 12, tzinfo=UTC))["birthdays"] == {"birthdays": 1}
    birthday_bonuses = [(e.key.rsplit(":", 1)[1], e.available) for e in entries(app_state, "action")
                        if ":birthday:" in e.key]
    assert birthday_bonuses == [("2027", 200), ("2028", 200)]


# ---------------------------------------------------------------- base tier on signup

def test_joining_puts_members_in_the_base_tier_without_a_tier_up_email(client, app_state, fake_admin):
    setup_shop(app_state)
    send_bob(client, "create", "subscribed", "2026-03-01T10:00:00Z")
    assert customer(app_state, BOB).tier_name == "Bronce"
    assert events(app_state, "tier_changed") == []
    order = payable(at=recently(), email="bob@biller.com",
                    customer={**fixture_payload("orders__paid.json")["customer"], "id": int(BOB),
                              "email": "bob@biller.com"})
    send(client, "orders/paid", order)
    assert customer(app_state, BOB).tier_name == "Plata"
    assert [(e.data["direction"], e.data["previous_tier_name"], e.data["tier_name"])
            for e in events(app_state, "tier_changed")] == [("up", "Bronce", "Plata")]
    run_tick(app_state, recently(0))
    with app_state.db.transaction() as session:
        tier_mail = session.execute(select(OutboxMessage).where(OutboxMessage.flow == "tier_changed")).scalars().all()
    assert len(tier_mail) == 1 and "Plata" in tier_mail[0].subject + tier_mail[0].text
    assert "Bronce" not in tier_mail[0].subject


# ---------------------------------------------------------------- metafields after commit

def _metafield_values(fake) -> dict:
    return {m["key"]: m["value"] for m in fake.metafields}


def test_points_reach_shopify_metafields_right_after_the_change_commits(app, client, app_state, fake_admin):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    assert _metafield_values(fake_admin) == {"points": "100", "points_pending": "359", "tier": "Plata"}
    assert all(m["ownerId"] == f"gid://shopify/Customer/{JON}" for m in fake_admin.metafields)
    assert cli(app, "points", "adjust", "--shop", SHOP, "--customer", JON, "--points", "25",
               "--reason", "late parcel").exit_code == 0
    assert _metafield_values(fake_admin)["points"] == "125"
    calls = len(fake_admin.operations("metafieldsSet"))
    send(client, "orders/paid", payable(at=recently()), event_id="replayed-order")  # same order: no change
    assert len(fake_admin.operations("metafieldsSet")) == calls


def test_metafield_syncs_are_one_pending_job_per_customer_run_by_a_real_worker(rq_app, fake_admin):
    app_state = rq_app.extensions["embajador"]
    setup_shop(app_state)
    send(rq_app.test_client(), "orders/paid", payable(at=recently()))
    connection = app_state.queue.connection
    queue = Queue(QUEUE_NAME, connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=True)  # the earn and the tier bonus
    assert cli(rq_app, "points", "adjust", "--shop", SHOP, "--customer", JON, "--points", "25",
               "--reason", "late parcel").exit_code == 0
    jon = customer(app_state, JON)
    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.get_job_ids() == [f"metafields-{jon.id}"]  # three ledger changes, one pending sync
    assert fake_admin.operations("metafieldsSet") == []  # nothing sent yet: it waits SYNC_DELAY
    assert run_scheduled_jobs_now(app_state) == [f"metafields-{jon.id}"]
    assert len(fake_admin.operations("metafieldsSet")) == 1
    assert _metafield_values(fake_admin) == {"points": "125", "points_pending": "359", "tier": "Plata"}
    assert queue.fetch_job(f"metafields-{jon.id}") is None  # done: the next change schedules a new one
    assert cli(rq_app, "points", "adjust", "--shop", SHOP, "--customer", JON, "--points", "5",
               "--reason", "goodwill").exit_code == 0
    assert scheduled.get_job_ids() == [f"metafields-{jon.id}"]


def test_a_throttled_shop_pauses_per_customer_syncs_and_leaves_them_to_the_tick(app, client, app_state):
    setup_shop(app_state)
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                 "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None, "throttleStatus": {
                     "maximumAvailable": 1000.0, "currentlyAvailable": 0.0, "restoreRate": 50.0}}}}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{ADMIN_ORIGIN}/admin/api/{app_state.config.api_version}/graphql.json", json=throttled)
        send(client, "orders/paid", payable(at=recently()))
        assert len(rsps.calls) == 1  # one try, no retry loop inside the webhook's job
        with app_state.db.transaction() as session:
            paused = session.execute(select(Shop)).scalar_one().settings["metafields_paused_until"]
        assert datetime.fromisoformat(paused) > datetime.now(UTC)
        assert cli(app, "points", "adjust", "--shop", SHOP, "--customer", JON, "--points", "5",
                   "--reason", "goodwill").exit_code == 0
        assert len(rsps.calls) == 1  # paused: Shopify is not asked again
    assert customer(app_state, JON).points_available == 105  # the points themselves are unaffected


# ---------------------------------------------------------------- default program copy

def test_a_spanish_chilean_shop_shows_default_rewards_in_spanish_pesos(client, app_state):
    shop_id = add_shop(app_state, currency="CLP")
    with app_state.db.transaction() as session:
        session.get(Shop, shop_id).primary_locale = "es"
    explainer = proxy(client, "get", "/proxy/customer", customer_id="").get_json()
    assert sorted(r["name"] for r in explainer["rewards"]) == ["$5.000 de descuento", "10% de descuento",
                                                                 "Envío gratis"]
