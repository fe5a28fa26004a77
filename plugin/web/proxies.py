"""Which X-Forwarded-* entries to believe: exactly ``TRUSTED_PROXIES`` of them.

Werkzeug's ProxyFix takes the client address that many hops from the end of
X-Forwarded-For; anything a client wrote further left is ignored. With 0 proxies the
socket peer is the client and the header is ignored entirely (a spoofed header changes
nothing). https://werkzeug.palletsprojects.com/en/stable/middleware/proxy_fix/
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trust_proxies(app: Flask, count: int) -> None:
    """Wrap the WSGI app so ``request.remote_addr`` is the real client behind ``count`` proxies."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
