"""Fixtures the reliability suite shares with the integration tests."""
from tests.integration.conftest import fake_admin  # noqa: F401  (fixture)
