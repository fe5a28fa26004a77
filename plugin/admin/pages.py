"""The embedded admin's pages: one server-rendered shell per section (es/en/pt), filled by
admin.js from the /api/ routes with App Bridge session tokens."""
from __future__ import annotations

from flask import Response, render_template, request

from plugin.admin import bp
from plugin.admin.dev_login import dev_shop
from plugin.admin.i18n import choose_lang, strings
from plugin.app_state import state
from plugin.shopify.shop_domain import normalize_shop_domain

PAGES = ("home", "program", "customers", "referrals", "emails", "complaints", "analytics", "whatif", "import",
         "developers", "webhooks", "billing")


def _render(page: str) -> Response:
    lang = choose_lang(request.args.get("locale"), request.headers.get("Accept-Language"))
    shop = normalize_shop_domain(request.args.get("shop", "")) or dev_shop()
    html = render_template("admin/page.html", page=page, pages=PAGES, lang=lang, t=strings(lang),
                           api_key=state().config.api_key, dev_shop=dev_shop(), shop=shop)
    # The CSP (frame-ancestors: this shop's admin, from a verified launch URL) is added by
    # plugin/web/security_headers.py for every page of this blueprint.
    return Response(html, mimetype="text/html")


@bp.get("/")
def embedded_page():
    """The page Shopify loads in the admin iframe; data comes from /api/* with session tokens."""
    return _render("home")


@bp.get("/<any(program, customers, referrals, emails, complaints, analytics, whatif, import, developers, webhooks,"
        " billing):page>")
def section_page(page: str):
    return _render(page)
