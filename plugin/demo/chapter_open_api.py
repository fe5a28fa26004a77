"""Chapter: the merchant adds actions outside the store to the program, creates an API key, and
points arrive for a review two ways: a ``curl`` to ``/v1`` (replayed safely with the same
Idempotency-Key) and a signed Judge.me webhook."""
from __future__ import annotations

import hashlib
import hmac
import json

import requests
from sqlalchemy import select

from plugin.admin.program_versions import save_program
from plugin.demo.stage import DEMO_SHOP
from plugin.models import Shop
from plugin.open_api.keys import create_key
from plugin.reviews.integrations import connect_judgeme

VALENTINA = "7390000000000001"
CUSTOM = [{"id": "review", "points": 50, "limit": 20, "cooldown": None},
          {"id": "photo_review", "points": 100, "limit": 20, "cooldown": None},
          {"id": "instagram_follow", "points": 30, "limit": 1, "cooldown": None}]
JUDGEME_TOKEN = "demo-judgeme-private-token"


def run(stage) -> None:
    stage.title("Open API and actions outside the store")
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        doc = dict(shop.program)
        doc["actions"] = {**doc["actions"], "custom": CUSTOM}
        save_program(session, shop, doc, "demo", "review and Instagram actions")
        key = create_key(session, shop, "demo curl", "demo", stage.now).key
        connect_judgeme(session, shop, JUDGEME_TOKEN, stage.app_state.cipher, "demo", stage.now)
    stage.say("program: actions.custom = review 50, photo_review 100, instagram_follow 30 (once)")
    stage.say(f"API key (admin → API & reviews, shown once): {key}")
    url = f"{stage.base_url}/v1/customers/{VALENTINA}/actions/review"
    stage.say(f"curl -X POST {url} -H 'Authorization: Bearer {key}' -H 'Idempotency-Key: review-1001'")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "review-1001"}
    first = requests.post(url, headers=headers, timeout=30)
    again = requests.post(url, headers=headers, timeout=30)
    answer = first.json()
    stage.say(f"→ {first.status_code} {answer['status']}: +{answer['points_awarded']} points, "
              f"balance {answer['points']['available']}; the same call again: {again.status_code}, "
              f"replayed={again.headers.get('Idempotent-Replayed')}, balance {again.json()['points']['available']}")
    body = json.dumps({"event": "review/created", "shop_domain": DEMO_SHOP, "platform": "shopify", "review": {
        "id": 465077999, "rating": 5, "title": "¡Precioso!", "reviewer": {"email": "joao@example.com.br"},
        "pictures": [{"urls": {"original": "https://judge.me/demo.jpg"}}], "published": True}}).encode()
    signature = hmac.new(JUDGEME_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    hook = requests.post(f"{stage.base_url}/hooks/reviews/judgeme/{DEMO_SHOP}", data=body, timeout=30,
                         headers={"JUDGEME-HMAC-SHA256": signature, "Content-Type": "application/json"})
    paid = hook.json()
    stage.say(f"Judge.me review/created with a photo from João (signed JUDGEME-HMAC-SHA256) → {hook.status_code} "
              f"{paid['status']} {paid['action_id']} +{paid['points_awarded']} points")
