"""The pinned Admin API version and Shopify's 12-month support window
(https://shopify.dev/docs/api/usage/versioning)."""
from __future__ import annotations

from datetime import date

import pytest

from plugin.config import load_config
from plugin.shopify.api_versions import LATEST_STABLE, release_date, version_status


def test_the_default_is_the_latest_stable_version():
    assert LATEST_STABLE == "2026-10"
    config = load_config({"EMBAJADOR_MODE": "test", "SECRET_KEY": "x", "ENCRYPTION_KEY": "a" * 64})
    assert config.api_version == "2026-10"
    assert "read_locales" in load_config({"EMBAJADOR_MODE": "test", "SECRET_KEY": "x",
                                          "ENCRYPTION_KEY": "a" * 64}).scopes.split(",")


@pytest.mark.parametrize("version, today, supported", [
    ("2025-10", date(2026, 9, 30), True),
    ("2025-10", date(2026, 10, 1), False),   # 12 months after its release
    ("2025-10", date(2026, 11, 29), False),  # the version this app used to pin
    ("2026-10", date(2026, 11, 29), True),
    ("2026-01", date(2026, 12, 31), True),
    ("2026-01", date(2027, 1, 1), False),
])
def test_a_version_is_supported_for_twelve_months(version, today, supported):
    status = version_status(version, today)
    assert status.supported is supported
    assert ("older than 12 months" in status.describe()) is not supported


@pytest.mark.parametrize("bad", ["2026-02", "latest", "", "2026-13"])
def test_only_quarterly_releases_are_versions(bad):
    with pytest.raises(ValueError):
        release_date(bad)


def test_an_old_pinned_version_warns_once_at_start(capsys):
    from plugin import create_app
    env = {"EMBAJADOR_MODE": "test", "SECRET_KEY": "x", "ENCRYPTION_KEY": "a" * 64, "LOG_FORMAT": "text",
           "SHOPIFY_API_VERSION": "2024-10", "DATABASE_URL": "sqlite://"}
    create_app(env)
    lines = [line for line in capsys.readouterr().err.splitlines() if "SHOPIFY_API_VERSION" in line]
    assert len(lines) == 1 and "2024-10 is older than 12 months" in lines[0] and lines[0].startswith("warning")
    create_app(dict(env, SHOPIFY_API_VERSION="2026-10"))
    assert "SHOPIFY_API_VERSION" not in capsys.readouterr().err
