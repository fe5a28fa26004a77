"""The one place outbound webhooks touch the network: resolve, check, connect to the
checked address.

DNS rebinding: the host is resolved here, every address is checked
(``rules.destinations``), and the connection goes to one of *those* addresses — the name
is never resolved a second time by the HTTP library. TLS still verifies the certificate
against the host name (SNI + hostname check through urllib3's ``server_hostname`` /
``assert_hostname``). No redirects are followed, no retries inside a call (the outbox
retries), short timeouts, and at most ``EXCERPT_BYTES`` of the answer are read.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from plugin.outbound.rules.destinations import Destination, check_addresses

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
EXCERPT_BYTES = 512


class TransportError(RuntimeError):
    """The request could not be made or completed; ``str()`` is safe to store and show."""


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def resolve(destination: Destination, allow_loopback: bool) -> list[str]:
    """Every address the host resolves to, each checked (raises RefusedDestination)."""
    try:
        infos = socket.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"the host name does not resolve ({type(exc).__name__})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return check_addresses(addresses, allow_loopback)


def post(destination: Destination, address: str, headers: dict[str, str], body: bytes) -> Answer:
    """POST ``body`` to ``destination`` over a connection to ``address`` (already checked)."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if destination.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, destination.port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=destination.host, assert_hostname=destination.host,
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    else:
        pool = urllib3.HTTPConnectionPool(address, destination.port, timeout=timeout, retries=False, maxsize=1)
    headers = {**headers, "Host": destination.host_header}
    try:
        response = pool.urlopen("POST", destination.target, body=body, headers=headers, redirect=False,
                                retries=False, preload_content=False, assert_same_host=False)
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        finally:
            response.release_conn()
        return Answer(response.status, excerpt.decode("utf-8", "replace"))
    except Urllib3Error as exc:
        raise TransportError(_describe(exc)) from None
    except OSError as exc:
        raise TransportError(f"connection failed ({type(exc).__name__})") from None
    finally:
        pool.close()


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "timed out"
    if "SSL" in name:
        return "TLS handshake or certificate check failed"
    return f"connection failed ({name})"
