"""HTTPS deliveries connect to the address that was checked yet still verify the certificate
against the host name (SNI + hostname check): a local TLS receiver for ``hooks.example.com``
(resolved to 127.0.0.1 by a stubbed resolver, test mode) gets the signed event when its CA is
trusted, and nothing is sent when the certificate is untrusted or names another host."""
from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from plugin.models import OutboundDelivery
from tests.integration.outbound.outbound_support import adjust, register, shop_with_customer, verify_signature


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(tmp_path, host: str):
    """A throwaway CA and a server certificate for ``host`` signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_receiver(tmp_path):
    """Returns a starter: ``start(cert_host)`` → (port, received, ca_file)."""
    servers = []

    def start(cert_host: str):
        ca_file, cert_file, key_file = _certificates(tmp_path, cert_host)
        received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], received, ca_file

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hooks_resolves_to_loopback(monkeypatch):
    """Every lookup of the name is recorded: the HTTP library must not resolve it again."""
    real = socket.getaddrinfo
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def _delivery(app_state) -> OutboundDelivery:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboundDelivery)).scalar_one()


def test_a_trusted_certificate_for_the_host_receives_the_event(app, tls_receiver, hooks_resolves_to_loopback,
                                                               monkeypatch):
    port, received, ca_file = tls_receiver("hooks.example.com")
    monkeypatch.setattr(certifi, "where", lambda: str(ca_file))
    app_state, client = app.extensions["embajador"], app.test_client()
    shop_with_customer(app_state)
    secret = register(client, f"https://hooks.example.com:{port}/hook").get_json()["secret"]
    adjust(client, 25)

    ((headers, body),) = received
    assert headers["host"] == f"hooks.example.com:{port}"
    # once when registered, once for the delivery: the connection used the checked address
    assert hooks_resolves_to_loopback.count("hooks.example.com") == 2
    assert verify_signature(headers["embajador-signature"], body, secret)
    assert _delivery(app_state).status == "delivered"


@pytest.mark.parametrize("cert_host, trust", [("hooks.example.com", False), ("other.example.com", True)])
def test_an_untrusted_or_wrong_certificate_gets_nothing(app, tls_receiver, hooks_resolves_to_loopback, monkeypatch,
                                                        cert_host, trust):
    port, received, ca_file = tls_receiver(cert_host)
    if trust:
        monkeypatch.setattr(certifi, "where", lambda: str(ca_file))
    app_state, client = app.extensions["embajador"], app.test_client()
    shop_with_customer(app_state)
    register(client, f"https://hooks.example.com:{port}/hook")
    adjust(client, 25)

    assert received == []
    row = _delivery(app_state)
    assert row.status == "pending" and row.last_status_code is None
    assert row.last_error == "TLS handshake or certificate check failed"
