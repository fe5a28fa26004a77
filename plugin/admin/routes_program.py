"""Admin API: the loyalty program document, a customer's ledger, manual adjustments."""
from __future__ import annotations

import json
from decimal import Decimal

from flask import g, jsonify, request

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.customers.lookup import customer_by_reference, ledger_rows
from plugin.loyalty.actions import AdjustmentError, adjust_points
from plugin.loyalty.birthdays import BirthdayError, set_birthday
from plugin.loyalty.rules.program import ProgramError, dump_program, load_program
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import shop_local
from plugin.models import utcnow
from plugin.web.json_body import json_object


@bp.get("/api/program")
@require_session_token
def get_program():
    with state().db.transaction() as session:
        return jsonify(dump_program(shop_program(current_shop(session))))


@bp.put("/api/program")
@require_session_token
def put_program():
    try:
        doc = json.loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
        loaded = load_program(doc)
    except ValueError as exc:
        path = exc.path if isinstance(exc, ProgramError) else "$"
        message = exc.message if isinstance(exc, ProgramError) else "the body must be a JSON program document"
        return jsonify(error=f"{path}: {message}", path=path), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        if loaded.currency != shop.currency:
            return jsonify(error=f"currency: the shop sells in {shop.currency}", path="currency"), 400
        shop.program = dump_program(loaded)
        return jsonify(shop.program)


@bp.get("/api/customers/<shopify_id>/ledger")
@require_session_token
def customer_ledger(shopify_id: str):
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_by_reference(session, shop, shopify_id) if shopify_id.isdigit() else None
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        return jsonify(customer_id=customer.shopify_id, points={"available": customer.points_available,
                                                                "pending": customer.points_pending},
                       tier=customer.tier_name, entries=ledger_rows(session, customer))


@bp.post("/api/customers/<shopify_id>/adjust")
@require_session_token
def adjust(shopify_id: str):
    body = json_object()
    amount = body.get("points")
    if isinstance(amount, bool) or not isinstance(amount, int):
        return jsonify(error="points: must be a whole number"), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_by_reference(session, shop, shopify_id) if shopify_id.isdigit() else None
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        reason = body.get("reason") or ""
        if not isinstance(reason, str):
            return jsonify(error="reason: must be text", field="reason"), 400
        try:
            adjust_points(session, shop, customer, amount, reason, f"admin:{g.staff_user_id}",
                          utcnow())
        except AdjustmentError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(points={"available": customer.points_available, "pending": customer.points_pending},
                       tier=customer.tier_name)


@bp.put("/api/customers/<shopify_id>/birthday")
@require_session_token
def set_customer_birthday(shopify_id: str):
    """The merchant sets or corrects a birthday (shoppers may only give it once)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "birthday" not in body:
        return jsonify(error="birthday: required, written YYYY-MM-DD", field="birthday"), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_by_reference(session, shop, shopify_id) if shopify_id.isdigit() else None
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        try:
            born = set_birthday(customer, body["birthday"], shop_local(shop, utcnow()).date(), by_merchant=True)
        except BirthdayError as exc:
            return jsonify(error=str(exc), field="birthday"), 400
        return jsonify(customer_id=customer.shopify_id, birthday=born.isoformat())
