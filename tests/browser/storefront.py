"""A local sample storefront: the extension's real Liquid blocks rendered with python-liquid, its
real assets, and a small App Proxy shim that signs ``/apps/embajador/*`` like Shopify does and
forwards it to the app.

The shim signs with its own few lines written from Shopify's description (TECHNOTES, and
https://shopify.dev/docs/apps/build/online-store/app-proxies/authenticate-app-proxies), checked
against the fixture vector, so a mistake in the app's verifier cannot be hidden by sharing code.
The logged-in customer comes from a ``customer_id`` cookie the test sets, the way Shopify knows
it from its own session and adds ``logged_in_customer_id`` (empty for guests).
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import liquid
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extensions" / "embajador-widget"
PROXY_PREFIX = "/apps/embajador"
_SCHEMA = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.S)
_FORWARDED = ("Cache-Control", "ETag", "Retry-After", "Content-Type")


def proxy_signature(params: list[tuple[str, str]], secret: str) -> str:
    """Shopify's App Proxy signature: sorted ``key=value`` (repeated values joined by ``,``),
    concatenated with no separator, hex HMAC-SHA256 with the app secret."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    message = "".join(sorted(f"{key}={','.join(values)}" for key, values in grouped.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def block_schema(name: str) -> dict:
    return json.loads(_SCHEMA.search((EXTENSION / "blocks" / name).read_text()).group(1))


def _locale(lang: str) -> dict:
    files = {"es": "es.json", "pt": "pt-BR.json"}
    return json.loads((EXTENSION / "locales" / files.get(lang, "en.default.json")).read_text())


def render_block(name: str, lang: str = "es", settings: dict | None = None, **objects) -> str:
    """One block's Liquid with its schema's default settings (overridden by ``settings``), the
    way the theme editor renders it; ``asset_url`` and ``t`` act like Shopify's filters."""
    source = (EXTENSION / "blocks" / name).read_text()
    defaults = {s["id"]: s.get("default", "") for s in block_schema(name).get("settings", []) if "id" in s}
    env = liquid.Environment()
    strings = _locale(lang)

    def translate(key: str) -> str:
        value: object = strings
        for part in key.split("."):
            value = value.get(part, key) if isinstance(value, dict) else key
        return str(value)
    env.filters["asset_url"] = lambda asset: f"/assets/{asset}"
    env.filters["t"] = translate
    template = env.from_string(_SCHEMA.sub("", source))
    block = {"id": name.split(".")[0], "settings": {**defaults, **(settings or {})}, "shopify_attributes": ""}
    routes = {"account_login_url": "/account/login", "account_register_url": "/account/register"}
    return template.render(block=block, routes=routes, **objects)


PRODUCT = {"title": "Poncho de alpaca", "selected_or_first_available_variant": {"price": 4990000}}


def sample_page(lang: str = "es", widget: bool = True, kind: str = "product", currency: str = "CLP") -> str:
    """A theme-like page: header, product (or page) content, and the widget's blocks."""
    blocks = ""
    if widget and kind == "product":
        blocks = render_block("product-points.liquid", lang, product=PRODUCT, cart={"currency": {"iso_code": currency}})
    elif widget and kind == "rewards":
        blocks = render_block("rewards-page.liquid", lang)
    embed = render_block("app-embed.liquid", lang) if widget else ""
    content = ("<h1>Poncho de alpaca</h1><p class='price'>$49.900</p><button class='buy'>Agregar al carrito</button>"
               if kind == "product" else "<h1>Tienda Test</h1>")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tienda Test</title>
<style>body{{font-family:Georgia,serif;margin:0;color:#222}}header{{background:#222;color:#fff;padding:16px 24px}}
main{{max-width:880px;margin:0 auto;padding:24px}}.buy{{font-size:18px;padding:10px 20px}}</style></head>
<body><header><a href="/" style="color:#fff">Tienda Test</a></header>
<main>{content}{blocks}</main>
{embed}
</body></html>"""


@dataclass
class Storefront:
    """``url`` serves ``/products/poncho`` and ``/pages/rewards`` (``?lang=``, ``?widget=0``),
    the extension's assets, and the signing App Proxy; ``proxied`` records what reached the app."""

    app_url: str
    secret: str
    shop: str
    currency: str = "CLP"
    url: str = ""
    proxied: list[dict] = field(default_factory=list)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path.startswith(PROXY_PREFIX + "/"):
            return self.forward(request, path[len(PROXY_PREFIX):])
        if path.startswith("/assets/"):
            asset = EXTENSION / "assets" / Path(path).name
            if not asset.is_file():
                return Response("not found", 404)
            kind = "text/css" if asset.suffix == ".css" else "text/javascript"
            data, headers = asset.read_bytes(), {"Cache-Control": "max-age=3600", "Vary": "Accept-Encoding"}
            if "gzip" in request.headers.get("Accept-Encoding", ""):  # as Shopify's CDN serves them
                data, headers["Content-Encoding"] = gzip.compress(data, compresslevel=9), "gzip"
            return Response(data, mimetype=kind, headers=headers)
        lang = request.args.get("lang", "es")
        widget = request.args.get("widget", "1") != "0"
        if path == "/products/poncho":
            return Response(sample_page(lang, widget, "product", self.currency), mimetype="text/html")
        if path == "/pages/rewards":
            return Response(sample_page(lang, widget, "rewards", self.currency), mimetype="text/html")
        if path.startswith("/discount/") or path.startswith("/account/"):
            return Response(f"<!doctype html><html lang='es'><title>{path}</title><h1>{path}</h1></html>",
                            mimetype="text/html")
        return Response("not found", 404)

    def forward(self, request: Request, rest: str) -> Response:
        params = [(k, v) for k, v in parse_qsl(request.query_string.decode(), keep_blank_values=True)
                  if k not in ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")]
        params += [("shop", self.shop), ("logged_in_customer_id", request.cookies.get("customer_id", "")),
                   ("path_prefix", PROXY_PREFIX), ("timestamp", str(int(time.time())))]
        params.append(("signature", proxy_signature(params, self.secret)))
        headers = {k: v for k, v in request.headers.items() if k in ("Content-Type", "Accept", "If-None-Match")}
        upstream = requests.request(request.method, f"{self.app_url}/proxy{rest}", params=params,
                                    data=request.get_data(), headers=headers, timeout=10)
        self.proxied.append({"method": request.method, "path": rest, "status": upstream.status_code})
        return Response(upstream.content, upstream.status_code,
                        headers={k: upstream.headers[k] for k in _FORWARDED if k in upstream.headers})


@contextmanager
def storefront(app_url: str, secret: str, shop: str, currency: str = "CLP") -> Iterator[Storefront]:
    front = Storefront(app_url, secret, shop, currency)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, front.wsgi, threaded=True)
    front.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        server.shutdown()
        thread.join(timeout=5)
