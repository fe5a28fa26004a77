"""Chapter: Valentina earns on a paid order, points release after the refund window, a
partial refund claws back its share, she moves up a tier and spends points on a code —
all through signed webhooks, ``tick`` and the App Proxy, against the fake Shopify Admin."""
from __future__ import annotations

import time

import requests
from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.models import Customer, CustomerEvent, LedgerEntry, Shop
from plugin.shopify.signatures import sign_app_proxy

ORDER_ID = 5550000000001001
POS_ORDER_ID = 5550000000001002


def _clp(amount: int) -> dict:
    money = {"amount": str(amount), "currency_code": "CLP"}
    return {"shop_money": money, "presentment_money": money}


def order_payload(stage, order_id: int, name: str, shopper_id: str, email: str, lines: list[int],
                  source: str = "web") -> dict:
    total = sum(lines)
    return {"id": order_id, "name": name, "email": email, "currency": "CLP", "presentment_currency": "CLP",
            "created_at": stage.now.isoformat(), "processed_at": stage.now.isoformat(), "cancelled_at": None,
            "financial_status": "paid", "source_name": source, "taxes_included": True, "customer_locale": "es-CL",
            "subtotal_price": str(total), "subtotal_price_set": _clp(total),
            "total_price": str(total), "total_price_set": _clp(total),
            "line_items": [{"id": order_id * 10 + i, "price": str(p), "price_set": _clp(p), "quantity": 1,
                            "gift_card": False, "tax_lines": [{"price": "0", "price_set": _clp(0)}]}
                           for i, p in enumerate(lines)],
            "customer": {"id": int(shopper_id), "email": email}}


def refund_payload(order_id: int, refund_id: int, line_id: int, amount: int) -> dict:
    return {"id": refund_id, "order_id": order_id, "refund_line_items": [
        {"line_item_id": line_id, "quantity": 1, "subtotal": amount, "total_tax": 0, "subtotal_set": _clp(amount),
         "total_tax_set": _clp(0), "line_item": {"id": line_id, "gift_card": False}}]}


def _balance(stage, first_name: str) -> Customer:
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        return session.execute(Customer.for_shop(shop.id).where(Customer.first_name == first_name)).scalar_one()


def _points(stage, name: str) -> str:
    c = _balance(stage, name)
    return f"{c.points_available} available, {c.points_pending} pending, tier {c.tier_name}"


def proxy(stage, method: str, path: str, shopper_id: str | None, json_body=None) -> requests.Response:
    """Like Shopify's App Proxy: signed at the real time of the storefront request."""
    params = {"shop": DEMO_SHOP, "path_prefix": "/apps/embajador", "timestamp": str(int(time.time())),
              "logged_in_customer_id": shopper_id or ""}
    params["signature"] = sign_app_proxy(params, stage.app_state.config.api_secret)
    return requests.request(method, f"{stage.base_url}/proxy{path}", params=params, json=json_body, timeout=30)


def run(stage) -> None:
    valentina, joao = stage.shopify_ids["Valentina"], stage.shopify_ids["João"]
    stage.title("3. Points: earning, refund window, refunds, tiers and a reward code")
    stage.say(f"Valentina after signing up: {_points(stage, 'Valentina')} (signup + marketing consent points)")
    order = order_payload(stage, ORDER_ID, "#1001", valentina, "valentina@example.cl", [300000, 100000])
    answer = stage.webhook("orders/paid", order, event_id="demo-order-1001")
    stage.say(f"orders/paid #1001 for $400.000 CLP → delivery {answer['delivery_id']}: 400 points pending for "
              f"14 days; Valentina: {_points(stage, 'Valentina')}")
    with stage.app_state.db.transaction() as session:
        ups = session.execute(select(CustomerEvent.data).where(CustomerEvent.kind == "tier_changed")
                              .order_by(CustomerEvent.id)).scalars().all()
    up = ups[-1]
    stage.say(f"tier-up: {up['previous_tier_name']} → {up['tier_name']} ($400.000 passes the $200.000 threshold; "
              f"+100 entry points, × 1.25 on her next orders)")
    stage.webhook("orders/paid", order, event_id="demo-order-1001-retry")
    stage.say(f"the same order delivered again with a new event id → still {_points(stage, 'Valentina')}")
    pos = order_payload(stage, POS_ORDER_ID, "#1002", joao, "joao@example.com.br", [45000], source="pos")
    stage.webhook("orders/paid", pos, event_id="demo-order-1002")
    stage.say(f"João buys in the shop (POS) for $45.000 CLP → {_points(stage, 'João')}")
    stage.webhook("refunds/create", refund_payload(ORDER_ID, 9001, ORDER_ID * 10 + 1, 100000),
                  event_id="demo-refund-9001")
    with stage.app_state.db.transaction() as session:
        clawed = session.execute(select(LedgerEntry.pending).where(LedgerEntry.kind == "clawback")).scalar_one()
    stage.say(f"partial refund of $100.000 of $400.000 → clawback of {-clawed} points (pro-rata, from pending); "
              f"Valentina: {_points(stage, 'Valentina')}")
    stage.advance(days=15)
    results = stage.tick()
    stage.say(f"15 days later, tick --now {stage.now:%Y-%m-%d}: released {results['points_release']['points']} points; "
              f"Valentina: {_points(stage, 'Valentina')}")
    stage.say(f"customer metafields synced to Shopify: {len(stage.fake.metafields)} values (points, tier)")
    status = proxy(stage, "GET", "/customer", valentina).json()
    affordable = [r["id"] for r in status["rewards"] if r["affordable"]]
    stage.say(f"widget GET /proxy/customer → tier {status['tier']['name']}, next {status['next_tier']['name']}, "
              f"{status['points']['available']} points, can afford {affordable}")
    redeemed = proxy(stage, "POST", "/redeem", valentina, {"reward_id": "5off"})
    body = redeemed.json()
    stage.say(f"POST /proxy/redeem 5off → {redeemed.status_code}, code {body.get('code')} "
              f"(single use, only for Valentina); {body.get('points', {}).get('available')} points left")
    again = proxy(stage, "POST", "/redeem", valentina, {"reward_id": "5off"})
    stage.say(f"redeeming again → {again.status_code}: {again.json().get('error')}")
    stage.say(f"codes created in Shopify: {[d['code'] for d in stage.fake.discounts]}")



