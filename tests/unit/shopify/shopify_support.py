"""Constants and helpers for the Shopify edge tests (imported by the test modules)."""
from __future__ import annotations

import json
from pathlib import Path

SHOP = "embajador-test.myshopify.com"
API_VERSION = "2026-10"
ENDPOINT = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
TOKEN = "shpat_test_token_0123456789"

_REPO = Path(__file__).resolve().parents[3]
_FIXTURE_DIRS = [_REPO / "tests" / "fixtures", _REPO.parent / "shared" / "fixtures"]


def fixture_path(relative: str) -> Path:
    """A public fixture file (copied into the repo, or the shared folder next to it)."""
    for base in _FIXTURE_DIRS:
        if (base / relative).exists():
            return base / relative
    raise FileNotFoundError(f"fixture {relative} not found in {_FIXTURE_DIRS}")


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 6))


def gql_ok(data: dict, *, available: float = 990.0, requested: int = 10) -> dict:
    """A successful GraphQL body with a realistic cost extension."""
    return {"data": data, "extensions": {"cost": {
        "requestedQueryCost": requested, "actualQueryCost": requested,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available,
                           "restoreRate": 50.0}}}}


def sent_json(call) -> dict:
    """The JSON body a stubbed request was sent with."""
    return json.loads(call.request.body)
