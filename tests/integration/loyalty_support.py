"""Kept for the email tests until they move next to their feature: the loyalty helpers live in
``tests/integration/loyalty/conftest.py``."""
from tests.integration.loyalty.conftest import fake_admin  # noqa: F401
