"""Chapter: Valentina shares her link, Camila lands and buys with the friend code, Valentina is
rewarded once; then Valentina tries her own link and the referral is held with its reason."""
from __future__ import annotations

import itertools

import requests
from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.models import Customer, LedgerEntry, Referral, Shop
from plugin.referrals.links import referral_link

VALENTINA = {"id": 7390000000000001, "email": "valentina@example.cl", "first_name": "Valentina",
             "last_name": "Rojas", "ip": "203.0.113.7", "ua": "Mozilla/5.0 (iPhone; Valentina)",
             "address1": "Av. Providencia 1234"}
CAMILA = {"id": 7390000000000010, "email": "camila.diaz@example.cl", "first_name": "Camila", "last_name": "Díaz",
          "ip": "198.51.100.20", "ua": "Mozilla/5.0 (Android; Camila)", "address1": "Calle Larga 55"}
_ORDER_IDS = itertools.count(5390000000000101)


def order(person: dict, stage, codes=(), financial_status="paid", subtotal="45000") -> dict:
    order_id = next(_ORDER_IDS)
    money = {"shop_money": {"amount": subtotal, "currency_code": "CLP"},
             "presentment_money": {"amount": subtotal, "currency_code": "CLP"}}
    return {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#R{order_id % 1000}",
            "email": person["email"], "created_at": stage.now.isoformat(), "processed_at": stage.now.isoformat(),
            "currency": "CLP", "presentment_currency": "CLP", "financial_status": financial_status,
            "subtotal_price": subtotal, "subtotal_price_set": money, "total_price": subtotal, "taxes_included": True,
            "discount_codes": [{"code": c, "amount": "4500", "type": "percentage"} for c in codes],
            "note_attributes": [], "browser_ip": person["ip"], "source_name": "web", "line_items": [],
            "client_details": {"browser_ip": person["ip"], "user_agent": person["ua"]},
            "customer": {k: person[k] for k in ("id", "email", "first_name", "last_name")},
            "shipping_address": {"first_name": person["first_name"], "last_name": person["last_name"],
                                 "address1": person["address1"], "city": "Santiago", "country_code": "CL"},
            "cancelled_at": None, "test": False}


def land(stage, code: str, person: dict) -> str:
    """The friend opens the shared link (a browser would follow the 302)."""
    response = requests.get(f"{stage.base_url}/r/{code}", allow_redirects=False, timeout=30,
                            headers={"User-Agent": person["ua"], "X-Forwarded-For": person["ip"]})
    return response.headers.get("Location", f"HTTP {response.status_code}")


def friend_code(location: str) -> str | None:
    return location.split("/discount/")[1].split("?")[0] if "/discount/" in location else None


def run(stage) -> None:
    stage.title("Referrals: Valentina becomes an ambassador (GET /r/<code>, fraud checks)")
    stage.webhook("orders/paid", order(VALENTINA, stage, subtotal="30000"))  # her own purchase (device, address)
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        valentina = _customer(session, shop, VALENTINA)
        link = referral_link(session, shop, valentina, stage.app_state.config.app_url)
        valentina_id, shop_id = valentina.id, shop.id
    stage.say(f"Valentina shares her link: {link['url']}")

    location = land(stage, link["code"], CAMILA)
    code = friend_code(location)
    stage.say(f"Camila lands → 302 {location}")
    discount = next((d for d in stage.fake.discounts if d["code"] == code), None)
    if discount:
        stage.say(f"Shopify discount {code}: {discount['customerGets']['value']['percentage']:.0%} off, "
                  f"usage limit {discount['usageLimit']}, "
                  f"{'any customer' if discount['context'] == {'all': 'ALL'} else discount['context']}")

    paid = order(CAMILA, stage, codes=[code] if code else [])
    stage.webhook("orders/create", dict(paid, financial_status="pending"), event_id=f"demo-ref-create-{paid['id']}")
    stage.webhook("orders/paid", paid, event_id=f"demo-ref-paid-{paid['id']}")
    referral, rows = _state(stage, shop_id, valentina_id, paid["id"])
    reward = rows[0] if rows else None
    stage.say(f"Camila pays order {paid['name']} with {code} → referral {referral.status if referral else 'missing'}"
              + (f", Valentina +{reward.pending or reward.available} points (pending until "
                 f"{reward.available_at:%Y-%m-%d})" if reward else ""))

    replay = stage.webhook("orders/paid", paid, event_id=f"demo-ref-paid-{paid['id']}")
    stage.webhook("orders/paid", paid, event_id=f"demo-ref-paid-{paid['id']}-resent")
    _, rows = _state(stage, shop_id, valentina_id, paid["id"])
    stage.say(f"Shopify replays the paid webhook ({replay['status']}, then as a new event) → "
              f"still {len(rows)} referral reward for Valentina")

    own_code = friend_code(land(stage, link["code"], VALENTINA))
    own = order(VALENTINA, stage, codes=[own_code] if own_code else [])
    stage.webhook("orders/paid", own)
    held, _ = _state(stage, shop_id, valentina_id, own["id"])
    reasons = ", ".join(r["code"] for r in held.hold_reasons) if held else "none"
    stage.say(f"Valentina uses her own link ({own_code}) → referral {held.status if held else 'missing'}: {reasons}")
    stage.say(f"review it with: flask --app plugin embajador referrals list --shop {DEMO_SHOP} --status held")


def _customer(session, shop, person) -> Customer:
    return session.execute(Customer.for_shop(shop.id).where(Customer.shopify_id == str(person["id"]))).scalar_one()


def _state(stage, shop_id: int, advocate_id: int, order_id: int):
    with stage.app_state.db.transaction() as session:
        referral = session.execute(Referral.for_shop(shop_id).where(Referral.friend_order_id == str(order_id))
                                   ).scalar_one_or_none()
        rows = session.execute(LedgerEntry.for_shop(shop_id).where(LedgerEntry.customer_id == advocate_id,
                                                                   LedgerEntry.kind == "referral")).scalars().all()
        return referral, rows
