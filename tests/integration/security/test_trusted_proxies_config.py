"""TRUSTED_PROXIES: a bad value stops the app with one line naming it; Heroku defaults to its router."""
from __future__ import annotations

import pytest

from plugin.config import ConfigError, load_config

BASE = {"EMBAJADOR_MODE": "test", "SECRET_KEY": "x", "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
        "DATABASE_URL": "sqlite:///:memory:"}


@pytest.mark.parametrize("value", ["-1", "many", "9"])
def test_a_bad_proxy_count_names_the_variable(value):
    with pytest.raises(ConfigError) as error:
        load_config(dict(BASE, TRUSTED_PROXIES=value))
    assert str(error.value).startswith("TRUSTED_PROXIES:") and "\n" not in str(error.value)


def test_no_proxy_is_trusted_unless_said_or_on_heroku():
    assert load_config(BASE).trusted_proxies == 0
    assert load_config(dict(BASE, DYNO="web.1")).trusted_proxies == 1
    assert load_config(dict(BASE, TRUSTED_PROXIES="2")).trusted_proxies == 2
