"""A shop with custom actions, a customer, and an API key created the way merchants do: through
the admin's session-token endpoint."""
from __future__ import annotations

from sqlalchemy import func, select

from plugin.models import ApiIdempotency, Customer, LedgerEntry
from tests.integration.conftest import bearer, session_token
from tests.integration.loyalty.conftest import recently, send, setup_shop
from tests.shopify_requests import SHOP

ACTIONS = {"signup": 100, "birthday": 200, "marketing_consent": 50, "birthday_lead_days": 30,
           "custom": [{"id": "review", "points": 50, "limit": 3, "cooldown": "P1D"},
                      {"id": "photo_review", "points": 80, "limit": None, "cooldown": None},
                      {"id": "instagram_follow", "points": 20, "limit": 1}]}
ANA = "7001"


def shop_with_actions(app_state, client, domain=SHOP) -> int:
    shop_id = setup_shop(app_state, actions=ACTIONS) if domain == SHOP else None
    send(client, "customers/create", {"id": int(ANA), "email": "ana@example.com", "first_name": "Ana",
                                      "updated_at": recently(3).isoformat()})
    return shop_id


def create_key(client, shop=SHOP, name="zapier") -> str:
    response = client.post("/api/api-keys", json={"name": name}, headers=bearer(session_token(shop=shop)))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["key"]


def auth(key: str, idempotency_key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def ledger_count(app_state, kind: str | None = None) -> int:
    with app_state.db.transaction() as session:
        query = select(func.count()).select_from(LedgerEntry)
        if kind:
            query = query.where(LedgerEntry.kind == kind)
        return session.execute(query).scalar_one()


def idempotency_count(app_state) -> int:
    with app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(ApiIdempotency)).scalar_one()


def balance(app_state, shopify_id=ANA) -> int:
    with app_state.db.transaction() as session:
        return session.execute(select(Customer.points_available).where(Customer.shopify_id == shopify_id)).scalar_one()
