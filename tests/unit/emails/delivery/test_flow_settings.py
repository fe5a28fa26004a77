"""The merchant's per-flow email choices as the senders read them from shop.settings."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from emails.delivery.settings import TEST_SEND_PREFIX, EmailSettings, is_test_send


def _shop(flows: dict) -> SimpleNamespace:
    return SimpleNamespace(name="Tienda", settings={"emails": {"from_email": "hola@tienda.test", "flows": flows}})


def test_a_flow_without_choices_is_on_at_once_from_the_shop_sender():
    settings = EmailSettings.for_shop(_shop({}), None, flow="welcome")
    assert settings.flow_enabled("welcome") and settings.flow_delay("welcome") == timedelta(0)
    assert (settings.from_email, settings.from_name) == ("hola@tienda.test", "Tienda")


def test_off_delay_and_sender_are_read_per_flow():
    shop = _shop({"birthday": {"enabled": False}, "welcome": {"delay_minutes": 90},
                  "points_earned": {"from_email": "club@tienda.test", "from_name": "Club"}})
    settings = EmailSettings.for_shop(shop, "default@app.test")
    assert not settings.flow_enabled("birthday") and settings.flow_enabled("welcome")
    assert settings.flow_delay("welcome") == timedelta(minutes=90)
    own = EmailSettings.for_shop(shop, "default@app.test", flow="points_earned")
    assert (own.from_email, own.from_name) == ("club@tienda.test", "Club")
    assert EmailSettings.for_shop(shop, None, flow="welcome").from_email == "hola@tienda.test"


def test_program_timed_flows_take_no_extra_delay():
    shop = _shop({"feedback_request": {"delay_minutes": 60}, "abandoned_checkout_2": {"delay_minutes": 60}})
    settings = EmailSettings.for_shop(shop, None)
    assert settings.flow_delay("feedback_request") == timedelta(0)
    assert settings.flow_delay("abandoned_checkout_2") == timedelta(0)


def test_test_sends_are_recognised_by_their_key():
    assert is_test_send(TEST_SEND_PREFIX + "admin-test:welcome:es")
    assert not is_test_send("welcome:event:1") and not is_test_send(None)
