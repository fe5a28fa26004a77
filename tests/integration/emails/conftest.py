"""Fixtures of the email tests: a local SendGrid sink (the SDK uses urllib, which
`responses` cannot intercept), an app configured for SendGrid and the Mail Send schema
validator; helpers for a shop with an es customer and the schema check applied to every
recorded request. tests/integration/feedback/conftest.py shares them."""
from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plugin.loyalty.rules.program import default_program, dump_program
from plugin.models import Customer, Shop
from tests.conftest import _truncate_all, base_env
from tests.integration.conftest import add_shop
from tests.unit.emails.conftest import mail_send_validator  # noqa: F401  (fixture)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class SendGridSink:
    """Records every request; answers with queued (status, headers) or 202."""

    requests: list = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses_or_pairs) -> None:
        for item in statuses_or_pairs:
            self.answers.append(item if isinstance(item, tuple) else (item, {}))

    def bodies(self) -> list[dict]:
        return [r["body"] for r in self.requests]


def _handler(sink: SendGridSink):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with sink.lock:
                sink.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body or b"null")})
                status, headers = sink.answers.popleft() if sink.answers else (202, {})
            payload = b"" if status == 202 else json.dumps({"errors": [{"message": f"status {status}"}]}).encode()
            self.send_response(status)
            if status == 202:
                self.send_header("X-Message-Id", f"sg-{len(sink.requests)}")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass
    return Handler


@pytest.fixture
def sink():
    s = SendGridSink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    s.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


def make_app(pg_url, **env):
    from plugin import create_app
    app = create_app(base_env(pg_url, **env))
    _truncate_all(app.extensions["embajador"].db)
    return app


@pytest.fixture
def sg_app(migrated, pg_url, sink):
    """The app with SendGrid pointed at the sink (in-process jobs)."""
    app = make_app(pg_url, SENDGRID_API_KEY="SG.test-key", SENDGRID_API_HOST=sink.url,
                   SENDGRID_FROM_EMAIL="puntos@embajador.test")
    with app.app_context():
        yield app
    app.extensions["embajador"].db.dispose()


def setup_shop(app_state, *, locale="es", currency="CLP", emails: dict | None = None) -> int:
    shop_id = add_shop(app_state)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.name, shop.currency, shop.primary_locale = "Tienda Embajador", currency, locale
        shop.program = dump_program(default_program(currency))
        shop.settings = {"emails": dict({"from_name": "Tienda Embajador", "reply_to": "hola@tienda.test",
                                         "asm_group_id": 321, "merchant_email": "dueña@tienda.test"},
                                        **(emails or {}))}
    return shop_id


def add_customer(app_state, shop_id, *, email="valentina@example.com", first="Valentina", locale="es",
                 consent="SUBSCRIBED", points=1200, tier="Bronce", shopify_id="7001") -> int:
    with app_state.db.transaction() as session:
        customer = Customer(shop_id=shop_id, shopify_id=shopify_id, email=email, first_name=first,
                            last_name="Rojas", locale=locale, marketing_state=consent,
                            points_available=points, tier_name=tier, birthday=date(1990, 11, 23))
        session.add(customer)
        session.flush()
        return customer.id


def validate_all(sink: SendGridSink, validator) -> None:
    """Every request that reached the sink is a valid Mail Send body."""
    assert sink.requests, "no request reached the sink"
    for request in sink.requests:
        assert request["path"] == "/v3/mail/send"
        errors = sorted(validator.iter_errors(request["body"]), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
