"""GET /billing/return: where Shopify sends the merchant after approving or declining a charge.

The query string is not trusted (it is not signed for us): a shop with a subscription waiting
for approval is re-read from Shopify, then the merchant goes back to the billing page inside
their admin (``admin.shopify.com/store/<store>/apps/<api key>``, the embedded app URL
shopify-app-js builds in lib/billing/request.ts)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request

from plugin.app_state import state
from plugin.billing.subscriptions import has_pending_subscription, sync_subscription
from plugin.logs import get_logger
from plugin.models import utcnow
from plugin.shopify.errors import ShopifyError
from plugin.shopify.shop_domain import normalize_shop_domain
from plugin.shops.tokens import ShopNotInstalled, find_shop

bp = Blueprint("billing", __name__)
log = get_logger("billing")


@bp.get("/billing/return")
def billing_return():
    app_state = state()
    domain = normalize_shop_domain(request.args.get("shop", ""))
    if not domain:
        abort(400, "shop: a *.myshopify.com domain")
    with app_state.db.transaction() as session:
        shop = find_shop(session, domain)
        if shop is None or not shop.installed:
            abort(404)
        shop_id, pending = shop.id, has_pending_subscription(session, shop.id)
    if pending and app_state.config.billing:
        try:
            sync_subscription(app_state, shop_id, utcnow())
        except (ShopifyError, ShopNotInstalled) as exc:  # the billing page syncs again when it opens
            log.warning("billing sync after return failed: %s", type(exc).__name__, extra={"shop": domain})
    store = domain.removesuffix(".myshopify.com")
    return redirect(f"https://admin.shopify.com/store/{store}/apps/{app_state.config.api_key}/billing", code=302)
