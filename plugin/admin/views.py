"""Registers every admin route module on the admin blueprint, plus the embedded page."""
from __future__ import annotations

from flask import render_template_string

from plugin.admin import (
    bp,
    routes_checkouts,  # noqa: F401  (registers routes)
    routes_feedback,  # noqa: F401  (registers routes)
    routes_program,  # noqa: F401  (registers routes)
    routes_referrals,  # noqa: F401  (registers routes)
    routes_shop,  # noqa: F401  (registers routes)
)
from plugin.app_state import state

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="shopify-api-key" content="{{ api_key }}">
<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>
<title>Embajador</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:24px;color:#202223}pre{background:#f6f6f7;padding:12px}</style>
</head><body>
<h1>Embajador</h1>
<p>Programa de fidelización: puntos, niveles VIP, referidos y correos.</p>
<pre id="out">Cargando…</pre>
<script>
(async () => {
  const out = document.getElementById("out");
  const call = async (path) => (await fetch(path, {headers: {Authorization: "Bearer " + await shopify.idToken()}})).json();
  out.textContent = JSON.stringify({shop: await call("/api/shop")}, null, 2);
})();
</script>
</body></html>"""


@bp.get("/")
def embedded_page():
    """The page Shopify loads in the admin iframe; data comes from /api/* with session tokens."""
    page = render_template_string(PAGE, api_key=state().config.api_key)
    return page, 200, {"Content-Security-Policy": "frame-ancestors https://*.myshopify.com https://admin.shopify.com"}
