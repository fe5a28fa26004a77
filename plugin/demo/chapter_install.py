"""Chapter: the merchant installs the app (OAuth through the real routes, fake Shopify)."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import requests

from plugin.demo.stage import DEMO_SHOP
from plugin.shopify.signatures import sign_oauth_query


def run(stage) -> None:
    stage.title("1. A merchant installs Embajador from the Shopify admin")
    first = requests.get(f"{stage.base_url}/auth/install", params={"shop": DEMO_SHOP},
                         allow_redirects=False, timeout=10)
    authorize = urlsplit(first.headers["Location"])
    state = parse_qs(authorize.query)["state"][0]
    stage.say(f"GET /auth/install → 302 to https://{authorize.netloc}{authorize.path} (state nonce issued)")
    params = {"code": stage.fake.grant_code(DEMO_SHOP), "shop": DEMO_SHOP, "state": state,
              "timestamp": str(int(time.time()))}
    params["hmac"] = sign_oauth_query(params, stage.app_state.config.api_secret)
    callback = requests.get(f"{stage.base_url}/auth/callback", params=params, allow_redirects=False, timeout=30)
    stage.say(f"GET /auth/callback (signed by Shopify) → {callback.status_code} to {callback.headers.get('Location')}")
    stage.say(f"expiring offline token stored encrypted; webhooks come from shopify.app.toml "
              f"({len(stage.fake.subscriptions)} registered per shop, so each event arrives once)")
