"""Attack 4: saving today's date as one's birthday and waiting for the next tick paid +200 at
once. Now a birthday saved fewer than ``actions.birthday_lead_days`` (default 30) days before
it first pays the following year; the merchant can change the lead time."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from plugin.models import utcnow
from tests.integration.conftest import bearer, session_token
from tests.integration.loyalty.conftest import run_tick
from tests.integration.security.conftest import member_with_points, points_of, proxy_query, setup_shop

SHOPPER = "5005"


def _save_birthday(client, born: date):
    response = client.post(f"/proxy/birthday?{proxy_query(SHOPPER)}", json={"birthday": born.isoformat()})
    assert response.status_code == 200, response.get_data(as_text=True)


def _birthday_this_year(today: date, days_ahead: int) -> date:
    occurrence = today + timedelta(days=days_ahead)
    return occurrence.replace(year=1990) if (occurrence.month, occurrence.day) != (2, 29) else date(1992, 2, 29)


def _tick_on(app_state, day: date) -> dict:
    return run_tick(app_state, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))["birthdays"]


def test_todays_date_saved_as_birthday_pays_nothing_until_next_year(client, app_state, fake_admin):
    setup_shop(app_state)
    member_with_points(app_state, client, SHOPPER, 0, "ana@example.cl")
    today = utcnow().date()
    _save_birthday(client, _birthday_this_year(today, 0))
    assert _tick_on(app_state, today) == {"birthdays": 0}
    assert points_of(app_state, SHOPPER) == 0
    leap_day = (today.month, today.day) == (2, 29)
    next_year = date(today.year + 1, 2, 28) if leap_day else today.replace(year=today.year + 1)
    assert _tick_on(app_state, next_year) == {"birthdays": 1}
    assert points_of(app_state, SHOPPER) == 200


def test_a_birthday_saved_well_ahead_pays_this_year(client, app_state, fake_admin):
    setup_shop(app_state)
    member_with_points(app_state, client, SHOPPER, 0, "ana@example.cl")
    today = utcnow().date()
    _save_birthday(client, _birthday_this_year(today, 40))
    assert _tick_on(app_state, today + timedelta(days=40)) == {"birthdays": 1}


def test_the_merchant_sets_the_lead_time(client, app_state, fake_admin):
    setup_shop(app_state)
    member_with_points(app_state, client, SHOPPER, 0, "ana@example.cl")
    auth = bearer(session_token())
    program = client.get("/api/program", headers=auth).get_json()
    program["actions"]["birthday_lead_days"] = 7
    assert client.put("/api/program", json=program, headers=auth).status_code == 200
    assert client.get("/api/program", headers=auth).get_json()["actions"]["birthday_lead_days"] == 7
    today = utcnow().date()
    _save_birthday(client, _birthday_this_year(today, 10))
    assert _tick_on(app_state, today + timedelta(days=10)) == {"birthdays": 1}
