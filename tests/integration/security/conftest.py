"""Shared helpers for the attack regression tests (issue 12): each test replays an attack a
reviewer ran against a running instance and checks what a user would see afterwards."""
from __future__ import annotations

import time
from urllib.parse import urlencode

from sqlalchemy import select

from plugin.loyalty.actions import adjust_points
from plugin.models import Customer, Shop, utcnow
from plugin.shopify.signatures import sign_app_proxy
from tests.conftest import API_SECRET
from tests.integration.loyalty.conftest import send, setup_shop  # noqa: F401  (used by the tests here)
from tests.integration.referrals.conftest import shop_fake  # noqa: F401  (fixture)
from tests.shopify_requests import SHOP


def signed_proxy_query(pairs: list[tuple[str, str]], secret: str = API_SECRET) -> str:
    """A raw App Proxy query string signed the way Shopify signs it (repeats joined by ",")."""
    return urlencode(pairs + [("signature", sign_app_proxy(pairs, secret))])


def proxy_query(customer_id: str = "", shop: str = SHOP) -> str:
    return signed_proxy_query([("shop", shop), ("path_prefix", "/apps/embajador"),
                               ("timestamp", str(int(time.time()))), ("logged_in_customer_id", customer_id)])


def member_with_points(app_state, client, shopify_id: str, points: int, email: str) -> int:
    """A customer known from customers/create holding exactly ``points``."""
    send(client, "customers/create", {"id": int(shopify_id), "email": email, "first_name": "Ana",
                                      "updated_at": "2026-11-01T00:00:00Z"})
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop)).scalar_one()
        member = session.execute(select(Customer).where(Customer.shopify_id == shopify_id)).scalar_one()
        adjust_points(session, shop, member, points - member.points_available, "test balance", "test", utcnow())
        return member.id


def points_of(app_state, shopify_id: str) -> int | None:
    with app_state.db.transaction() as session:
        return session.execute(select(Customer.points_available)
                               .where(Customer.shopify_id == shopify_id)).scalar_one_or_none()
