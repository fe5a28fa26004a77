"""Admin API: customer search and the customer page."""
from __future__ import annotations

from flask import jsonify, request

from plugin.admin import bp
from plugin.admin.customers import customer_in_shop, customer_page, search_customers
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.models import utcnow

MAX_QUERY = 200


@bp.get("/api/customers")
@require_session_token
def customers_search():
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY:
        return jsonify(error=f"q: at most {MAX_QUERY} characters", field="q", errors={"q": "too long"}), 400
    with state().db.transaction() as session:
        return jsonify(customers=search_customers(session, current_shop(session), q))


@bp.get("/api/customers/<shopify_id>")
@require_session_token
def customer_detail(shopify_id: str):
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_in_shop(session, shop, shopify_id)
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        return jsonify(customer_page(session, shop, customer, utcnow()))
