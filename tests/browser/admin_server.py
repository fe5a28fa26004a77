"""Serving the real app to the browser: a werkzeug server on 127.0.0.1 in this process (so
`responses` can stand in for Shopify), and a stub of Shopify's CDN whose App Bridge hands out
session tokens signed with the test secret. Polaris is stubbed empty: the page must stay
usable with its light-DOM fallback."""
from __future__ import annotations

import threading
import time
import uuid

import jwt
from werkzeug.serving import make_server

from tests.conftest import API_KEY, API_SECRET

BRIDGE = """window.__toasts = [];
window.shopify = {
  idToken: async () => %s,
  toast: {show: (message, options) => window.__toasts.push({message, error: !!(options && options.isError)})},
  config: {apiKey: %r},
};"""

# App Bridge's modal as the page uses it: <ui-modal> with show()/hide() and a "hide" event,
# shopify.modal.show/hide(id), and <ui-title-bar> buttons (the admin renders them; here they stay
# in the page). https://shopify.dev/docs/api/app-bridge-library/web-components/ui-modal
MODAL = """
window.__modals = [];
customElements.define("ui-title-bar", class extends HTMLElement {});
customElements.define("ui-modal", class extends HTMLElement {
  show() { this.setAttribute("open", ""); window.__modals.push(this.id); }
  hide() { this.removeAttribute("open"); this.dispatchEvent(new CustomEvent("hide")); }
});
window.shopify.modal = {show: async (id) => document.getElementById(id).show(),
                        hide: async (id) => document.getElementById(id).hide()};
const modalStyle = document.createElement("style");
modalStyle.textContent = "ui-modal[open]{display:block!important;position:fixed;top:20%;left:30%;right:30%;" +
  "background:#fff;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.3);z-index:20}";
document.head.append(modalStyle);"""


def session_token(shop: str) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": "42",
              "exp": now + 600, "nbf": now - 5, "iat": now, "jti": str(uuid.uuid4()), "sid": uuid.uuid4().hex}
    return jwt.encode(claims, API_SECRET, algorithm="HS256")


def stub_shopify_cdn(page, shop: str, modal: bool = True) -> None:
    """Intercept cdn.shopify.com: App Bridge → a stub minting test session tokens (with its modal
    unless ``modal=False``: the page must then fall back to its own dialog); Polaris → empty."""
    def handle(route):
        if route.request.url.endswith("/app-bridge.js"):
            body = BRIDGE % (repr(session_token(shop)).replace("'", '"'), API_KEY) + (MODAL if modal else "")
        else:
            body = "/* polaris stubbed: light-DOM fallback */"
        route.fulfill(status=200, content_type="application/javascript", body=body)
    page.route("https://cdn.shopify.com/**", handle)


class ServedApp:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
