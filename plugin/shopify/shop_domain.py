"""The one check that a value names a Shopify store, before it reaches a URL or a query."""
from __future__ import annotations

import re

_SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
_SCHEME = re.compile(r"^https?://")
_MAX_LENGTH = 255


def normalize_shop_domain(value: object) -> str | None:
    """Return ``name.myshopify.com`` for a shop given as domain or URL, else ``None``.

    Accepts ``HTTPS://Name.myshopify.com/admin`` and the like; rejects custom
    domains, ports, userinfo and look-alikes (``evil.com/x.myshopify.com``), because
    the result is used to build server-to-server URLs that carry our secrets.
    """
    if not isinstance(value, str):
        return None
    text = _SCHEME.sub("", value.strip().lower())
    host = re.split(r"[/?#]", text, maxsplit=1)[0]
    if len(host) > _MAX_LENGTH or not _SHOP_DOMAIN.fullmatch(host):
        return None
    return host
