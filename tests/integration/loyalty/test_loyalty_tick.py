"""Scheduled work in ``tick``: releases, tiers, expiry — idempotent at the same instant."""
from __future__ import annotations

from datetime import timedelta

from tests.integration.loyalty.conftest import (
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

JON = "115310627314723954"


def test_pending_points_become_available_after_the_window_once(client, app_state, fake_admin):
    setup_shop(app_state)
    placed = recently()
    send(client, "orders/paid", payable(at=placed, name="#1001"))
    run_tick(app_state, placed + timedelta(days=13))
    assert customer(app_state, JON).points_pending == 359  # still in the refund window
    at = placed + timedelta(days=14, minutes=1)
    first = run_tick(app_state, at)
    second = run_tick(app_state, at)
    jon = customer(app_state, JON)
    assert (jon.points_pending, jon.points_available) == (0, 459)
    assert first["points_release"] == {"released": 1, "points": 359}
    assert second["points_release"] == {"released": 0, "points": 0}
    assert [e.data for e in events(app_state, "points_earned")] == [
        {"points_earned": 359, "order_name": "#1001", "order_id": "820982911946154508"}]
    # 459 available crosses the 300 (free shipping) reward once, and the 500 one not yet.
    crossed = [e.data["reward_id"] for e in events(app_state, "reward_available")]
    assert crossed == ["ship"]
    assert_no_drift(app_state)


def test_metafields_carry_points_and_tier_to_shopify_after_changes_only(client, app_state, fake_admin):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    now = recently(0) + timedelta(minutes=5)
    run_tick(app_state, now)
    written = {(m["key"], m["value"]) for m in fake_admin.metafields}
    assert {("points", "100"), ("points_pending", "359"), ("tier", "Plata")} <= written
    assert all(m["ownerId"] == f"gid://shopify/Customer/{JON}" for m in fake_admin.metafields)
    calls = len(fake_admin.operations("metafieldsSet"))
    run_tick(app_state, now)
    assert len(fake_admin.operations("metafieldsSet")) == calls  # nothing changed, nothing sent


def test_rolling_tier_goes_down_when_the_order_slides_out_of_the_window(client, app_state, fake_admin):
    setup_shop(app_state)
    placed = recently()
    send(client, "orders/paid", payable(at=placed))
    assert customer(app_state, JON).tier_name == "Plata"
    run_tick(app_state, placed + timedelta(days=300))
    assert customer(app_state, JON).tier_name == "Plata"
    run_tick(app_state, placed + timedelta(days=366))
    assert customer(app_state, JON).tier_name == "Bronce"
    changes = [(e.data["direction"], e.data["previous_tier_name"], e.data["tier_name"])
               for e in events(app_state, "tier_changed")]
    assert changes == [("up", None, "Plata"), ("down", "Plata", "Bronce")]
    assert len(entries(app_state, "tier_bonus")) == 1  # entry points paid once


def test_grace_days_keep_the_tier_a_little_longer(client, app_state, fake_admin):
    setup_shop(app_state, tier_grace_days=30)
    placed = recently()
    send(client, "orders/paid", payable(at=placed))
    run_tick(app_state, placed + timedelta(days=380))
    assert customer(app_state, JON).tier_name == "Plata"
    run_tick(app_state, placed + timedelta(days=396))
    assert customer(app_state, JON).tier_name == "Bronce"


def test_expiry_warns_then_expires_and_repeats_nothing(client, app_state, fake_admin):
    setup_shop(app_state)
    send(client, "orders/paid", payable(at=recently()))
    last = customer(app_state, JON).last_activity_at
    run_tick(app_state, last + timedelta(days=15))  # release: 459 available
    warn_at = last + timedelta(days=336)
    run_tick(app_state, warn_at)
    run_tick(app_state, warn_at)
    run_tick(app_state, last + timedelta(days=359))
    expires_on = (last + timedelta(days=365)).date().isoformat()
    assert [(e.kind, e.data) for e in events(app_state) if e.kind.startswith("expiry")] == [
        ("expiry_warning", {"expiring_points": 459, "expires_on": expires_on}),
        ("expiry_last_chance", {"expiring_points": 459, "expires_on": expires_on})]
    gone = last + timedelta(days=365, minutes=1)
    run_tick(app_state, gone)
    run_tick(app_state, gone)
    assert [e.available for e in entries(app_state, "expire")] == [-459]
    assert customer(app_state, JON).points_available == 0
    assert_no_drift(app_state)


def test_birthday_points_once_a_year(client, app_state, fake_admin):
    from plugin.models import Customer
    setup_shop(app_state)
    send(client, "customers/create", {"id": 777, "email": "ana@example.cl", "updated_at": recently(3).isoformat()})
    today = recently(0)
    with app_state.db.transaction() as session:
        from sqlalchemy import select
        row = session.execute(select(Customer)).scalar_one()
        row.birthday = today.date().replace(year=1990)
    run_tick(app_state, today)
    run_tick(app_state, today + timedelta(hours=1))
    assert [e.data for e in events(app_state, "birthday")] == [{"birthday_points": 200}]
    assert customer(app_state, "777").points_available == 100 + 200
