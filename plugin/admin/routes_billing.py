"""Admin API: the shop's plan, this month's orders against its allowance, and changing plan."""
from __future__ import annotations

from flask import g, jsonify

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.billing.subscriptions import BillingOff, UnknownPlan, billing_status, start_subscription, sync_subscription
from plugin.models import utcnow
from plugin.shopify.errors import ShopifyError, ShopifyUserError
from plugin.web.json_body import json_object


def _status():
    app_state = state()
    with app_state.db.transaction() as session:
        return billing_status(session, app_state.config, current_shop(session), utcnow())


@bp.get("/api/billing")
@require_session_token
def billing():
    return jsonify(_status())


@bp.post("/api/billing/sync")
@require_session_token
def billing_sync():
    app_state = state()
    if not app_state.config.billing:
        return jsonify(_status())
    try:
        sync_subscription(app_state, g.shop_id, utcnow())
    except ShopifyError:
        return jsonify(error="Shopify could not be reached; try again"), 502
    return jsonify(_status())


@bp.post("/api/billing/subscribe")
@require_session_token
def billing_subscribe():
    plan = json_object().get("plan")
    if not isinstance(plan, str):
        return jsonify(error="plan: the id of a plan", field="plan", errors={"plan": "the id of a plan"}), 400
    try:
        url = start_subscription(state(), g.shop_id, plan, utcnow())
    except BillingOff:
        return jsonify(error="billing is off on this install: every feature is included"), 409
    except UnknownPlan:
        return jsonify(error=f"plan: unknown plan {plan!r}", field="plan", errors={"plan": "unknown plan"}), 400
    except ShopifyUserError as exc:
        return jsonify(error=f"Shopify refused the charge: {exc}"), 502
    except ShopifyError:
        return jsonify(error="Shopify could not be reached; try again"), 502
    # The page sends the merchant's top window to Shopify's approval page.
    return jsonify(confirmation_url=url, billing=_status())
