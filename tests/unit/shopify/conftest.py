"""Fixtures for the Shopify edge tests.

No ``__init__.py`` in this folder on purpose: as a package it would be importable as
``shopify`` and shadow the ShopifyAPI library. Helpers live in ``shopify_support``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import responses

sys.path.insert(0, str(Path(__file__).parent))  # any --import-mode can import shopify_support

from shopify_support import API_VERSION, SHOP, TOKEN, Sleeps, fixture_path  # noqa: E402

from plugin.shopify.graphql import AdminClient  # noqa: E402


@pytest.fixture(scope="session")
def signature_vectors() -> dict:
    return json.loads(fixture_path("shopify/signature_vectors.json").read_text())


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps) -> AdminClient:
    return AdminClient(SHOP, API_VERSION, lambda: TOKEN, sleep=sleeps, clock=lambda: 0.0)
