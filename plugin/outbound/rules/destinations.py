"""Where the app may send a merchant's events: no SSRF.

Production: ``https`` only, and every address the host resolves to must be a public
(globally routable) unicast address — no private (10/8, 172.16/12, 192.168/16, fc00::/7),
loopback, link-local (169.254/16 with the cloud metadata service, fe80::/10), shared
(100.64/10), multicast, reserved or unspecified address, including IPv4 addresses hidden
in IPv6 (``::ffff:10.0.0.1``, 6to4, Teredo). Demo and test modes may also use loopback
(``http://127.0.0.1:8765/``) so a local receiver works. Uses the standard ``ipaddress``
module's own classification (``is_global`` follows the IANA special-purpose registries).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class RefusedDestination(ValueError):
    """The URL or one of its addresses may not receive events; ``str()`` says why."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # lower-case name or IP literal (without brackets)
    port: int
    target: str  # path + query, what goes on the request line

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def parse_destination(url: str, allow_loopback: bool) -> Destination:
    """Check the URL's shape (scheme, host, no credentials); addresses are checked separately."""
    if not isinstance(url, str) or not url.strip():
        raise RefusedDestination("url: is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"url: at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedDestination("url: is not a valid URL") from None
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise RefusedDestination("url: must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise RefusedDestination("url: may not contain a user name or password")
    if parts.fragment:
        raise RefusedDestination("url: may not contain a #fragment")
    literal = _ip_literal(host)
    loopback_literal = literal is not None and _unwrap(literal).is_loopback
    if parts.scheme == "http" and not (allow_loopback and loopback_literal):
        raise RefusedDestination("url: must be an https:// URL (http only for 127.0.0.1 in demo and test mode)")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        raise RefusedDestination("url: localhost names are not allowed; use a public host name")
    if literal is not None:
        check_address(str(literal), allow_loopback)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), target)


def check_address(address: str, allow_loopback: bool) -> None:
    """Raise RefusedDestination unless ``address`` is public (or loopback when allowed)."""
    try:
        ip = _unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        raise RefusedDestination(f"url: resolves to an unusable address {address!r}") from None
    if allow_loopback and ip.is_loopback:
        return
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        raise RefusedDestination(f"url: resolves to a private, loopback or link-local address ({ip})")


def check_addresses(addresses: list[str], allow_loopback: bool) -> list[str]:
    """Every resolved address must pass; returns them (the caller connects to one of these)."""
    if not addresses:
        raise RefusedDestination("url: the host name does not resolve")
    for address in addresses:
        check_address(address, allow_loopback)
    return addresses


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo), else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip
