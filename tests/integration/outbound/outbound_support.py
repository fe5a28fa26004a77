"""A local HTTP receiver on 127.0.0.1 that records what Embajador sends it, a shop with a
customer, and the documented verification snippet (scripts/webhook_receiver.py) loaded as
the merchant would copy it."""
from __future__ import annotations

import importlib.util
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from plugin.models import Customer, Shop
from tests.conftest import ROOT
from tests.integration.conftest import add_shop, bearer, session_token
from tests.shopify_requests import SHOP

_spec = importlib.util.spec_from_file_location("webhook_receiver", ROOT / "scripts" / "webhook_receiver.py")
webhook_receiver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(webhook_receiver)
verify_signature = webhook_receiver.verify_signature


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next status of ``statuses`` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hooks/embajador") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            index = min(len(receiver.requests) - 1, len(receiver.statuses) - 1)
            self.send_response(receiver.statuses[index])
            self.end_headers()
            self.wfile.write(b"receiver says no" if receiver.statuses[index] >= 400 else b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def auth(shop: str = SHOP) -> dict:
    return bearer(session_token(shop=shop))


def shop_with_customer(app_state, domain: str = SHOP, shopify_id: str = "7001", locale: str = "es") -> int:
    shop_id = add_shop(app_state, domain=domain)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.name, shop.primary_locale = "Tienda Test", locale
        shop.settings = {"emails": {"from_email": "hola@tienda.test", "merchant_email": "duena@tienda.test"}}
        session.add(Customer(shop_id=shop_id, shopify_id=shopify_id, email=f"c{shopify_id}@example.com",
                             first_name="Ana"))
    return shop_id


def register(client, url: str, topics=("points.changed",), shop: str = SHOP):
    return client.post("/api/webhooks", json={"url": url, "topics": list(topics)}, headers=auth(shop))


def adjust(client, points: int, customer: str = "7001", shop: str = SHOP):
    response = client.post(f"/api/customers/{customer}/adjust", json={"points": points, "reason": "regalo"},
                           headers=auth(shop))
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response
