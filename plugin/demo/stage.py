"""The demo's stage: a served app, a fake Shopify, a signed-webhook sender, a clock."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import click
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.demo.fake_shopify import FakeShopify
from plugin.jobs.tick import run_tick
from plugin.shopify.api_versions import LATEST_STABLE
from plugin.shopify.signatures import sign_app_proxy, sign_webhook

DEMO_SHOP = "tienda-embajador.myshopify.com"


@dataclass
class Stage:
    app: Flask
    base_url: str
    fake: FakeShopify
    now: datetime
    echo: Callable[[str], None] = click.echo
    shopify_ids: dict = field(default_factory=dict)

    @property
    def app_state(self):
        return self.app.extensions["embajador"]

    def title(self, text: str) -> None:
        self.echo("")
        self.echo(click.style(f"== {text}", bold=True))

    def say(self, text: str) -> None:
        self.echo(f"   {text}")

    def advance(self, **delta) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def webhook(self, topic: str, payload: dict, event_id: str | None = None) -> dict:
        """Sign and POST a webhook like Shopify does; returns the app's JSON answer."""
        body = json.dumps(payload, default=_json_default).encode()
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": DEMO_SHOP,
                   "X-Shopify-Hmac-Sha256": sign_webhook(body, self.app_state.config.api_secret),
                   "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
                   "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": LATEST_STABLE,
                   "X-Shopify-Triggered-At": self.now.isoformat(), "Content-Type": "application/json"}
        response = requests.post(f"{self.base_url}/webhooks", data=body, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def proxy(self, method: str, path: str, customer_shopify_id: str | None, json_body=None) -> requests.Response:
        """Call an App Proxy route the way Shopify forwards a storefront request (signed now:
        simulated time moves the story, not Shopify's clock)."""
        params = {"shop": DEMO_SHOP, "path_prefix": "/apps/embajador", "timestamp": str(int(time.time())),
                  "logged_in_customer_id": customer_shopify_id or ""}
        params["signature"] = sign_app_proxy(params, self.app_state.config.api_secret)
        return requests.request(method, f"{self.base_url}/proxy{path}", params=params, json=json_body, timeout=30)

    def tick(self) -> dict:
        with self.app.app_context():
            return run_tick(self.app_state, self.now)


def serve(app: Flask, port: int = 0) -> tuple[str, BaseWSGIServer]:
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"--port: 127.0.0.1:{port} is not free ({exc.strerror})") from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
