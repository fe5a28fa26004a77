"""No SSRF: in production an endpoint must be https and every address its host resolves to
public — checked when it is registered and again at every delivery (DNS rebinding)."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from plugin import create_app
from plugin.models import OutboundDelivery, OutboundEndpoint
from tests.conftest import _truncate_all, base_env
from tests.integration.outbound.outbound_support import adjust, register, shop_with_customer, start_receiver

PUBLIC = "93.184.215.14"  # example.com's address (IANA), a public one


@pytest.fixture
def production_app(migrated, pg_url):
    app = create_app(base_env(pg_url, EMBAJADOR_MODE="production", SHOPIFY_ADMIN_ORIGIN="",
                              SECRET_KEY="production-secret-key-0123456789abcdef"))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    with app.app_context():
        yield app
    app_state.db.dispose()


@pytest.fixture
def dns(monkeypatch):
    """A resolver we control: names map to lists of addresses; anything else is real."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port) if ":" not in a else (a, port, 0, 0)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


REFUSED_IN_PRODUCTION = [
    "http://hooks.example.com/embajador",  # not https
    "http://127.0.0.1:8765/",  # loopback, and http
    "https://127.0.0.1/",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service (link-local)
    "https://100.64.0.1/",  # shared address space
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",  # IPv4 inside IPv6
    "https://0.0.0.0/",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://api.localhost/hook",
    "https://user:pass@hooks.example.com/",
    "https://internal.example.com/hook",  # resolves to 10.1.2.3
    "https://split.example.com/hook",  # one public and one private address
]


def test_production_refuses_non_public_destinations(production_app, dns):
    dns["internal.example.com"] = ["10.1.2.3"]
    dns["split.example.com"] = [PUBLIC, "192.168.0.7"]
    app_state, client = production_app.extensions["embajador"], production_app.test_client()
    shop_with_customer(app_state)
    for url in REFUSED_IN_PRODUCTION:
        response = register(client, url)
        assert response.status_code == 400, url
        assert response.get_json()["field"] == "url", url
    with app_state.db.transaction() as session:
        assert session.execute(select(OutboundEndpoint)).scalars().all() == []


def test_production_accepts_a_public_https_endpoint(production_app, dns):
    dns["hooks.example.com"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    app_state, client = production_app.extensions["embajador"], production_app.test_client()
    shop_with_customer(app_state)
    response = register(client, "https://hooks.example.com/embajador")
    assert response.status_code == 201, response.get_data(as_text=True)


def test_dns_rebinding_is_caught_at_delivery_time(production_app, dns):
    """Registered while the name pointed at a public address; by delivery time it points at
    the loopback where a receiver listens: nothing is sent there."""
    receiver, server = start_receiver()
    try:
        dns["rebind.example.com"] = [PUBLIC]
        app_state, client = production_app.extensions["embajador"], production_app.test_client()
        shop_with_customer(app_state)
        assert register(client, f"https://rebind.example.com:{receiver.port}/hook").status_code == 201
        dns["rebind.example.com"] = ["127.0.0.1"]
        adjust(client, 15)  # no Redis: the attempt runs right after the commit
        assert receiver.requests == []
        with app_state.db.transaction() as session:
            (row,) = session.execute(select(OutboundDelivery)).scalars().all()
        assert row.status == "pending" and row.attempts == 1 and row.last_status_code is None
        assert "private, loopback or link-local address (127.0.0.1)" in row.last_error
    finally:
        server.shutdown()
        server.server_close()


def test_test_mode_allows_only_loopback_besides_public_hosts(app, dns):
    dns["internal.example.com"] = ["10.1.2.3"]
    app_state, client = app.extensions["embajador"], app.test_client()
    shop_with_customer(app_state)
    assert register(client, "http://127.0.0.1:8765/hook").status_code == 201
    for url in ("http://10.0.0.5/hook", "https://169.254.169.254/", "https://internal.example.com/",
                "http://localhost:8765/", "http://hooks.example.com/"):
        assert register(client, url).status_code == 400, url
