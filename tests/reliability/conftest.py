"""Fixtures the reliability suite shares with the integration tests."""
from tests.integration.conftest import fake_admin  # noqa: F401  (fixture)
from tests.integration.emails.conftest import sink  # noqa: F401  (fixture)
