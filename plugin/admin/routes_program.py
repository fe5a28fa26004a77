"""Admin API: the loyalty program document (validated, versioned), a customer's ledger,
manual adjustments and birthdays."""
from __future__ import annotations

from decimal import Decimal

from flask import g, jsonify, request

from emails.delivery.settings import EmailSettings
from plugin.admin import bp
from plugin.admin.customers import customer_in_shop
from plugin.admin.presets import sample_earnings
from plugin.admin.program_versions import ProgramRejected, list_versions, rollback, save_program, validate_document
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.customers.lookup import ledger_rows
from plugin.lifecycle.dispatch import shop_surveys
from plugin.loyalty.actions import AdjustmentError, adjust_points
from plugin.loyalty.birthdays import BirthdayError, set_birthday
from plugin.loyalty.rules.program import dump_program, surveys_doc
from plugin.loyalty.status import shop_program
from plugin.loyalty.tier_sync import shop_local
from plugin.models import utcnow
from plugin.web.json_body import json_object
from plugin.web.json_limits import bounded_loads


def _body_document():
    try:
        return bounded_loads(request.get_data(as_text=True) or "null", parse_float=Decimal)
    except ValueError:
        return None


def _rejected(exc: ProgramRejected):
    return jsonify(error=f"{exc.path}: {exc.message}", path=exc.path, errors={exc.path: exc.message}), 400


@bp.get("/api/program")
@require_session_token
def get_program():
    with state().db.transaction() as session:
        shop = current_shop(session)
        document = dump_program(shop_program(shop))
        if "surveys" not in document:  # the survey the shop gets today, so the editor shows (and saves) it
            settings = EmailSettings.for_shop(shop, state().config.sendgrid_from_email)
            document["surveys"] = surveys_doc(shop_surveys(shop, settings))
        return jsonify(document)


@bp.put("/api/program")
@require_session_token
def put_program():
    doc = _body_document()
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            return jsonify(save_program(session, shop, doc, f"staff:{g.staff_user_id}"))
        except ProgramRejected as exc:
            session.rollback()
            return _rejected(exc)


@bp.post("/api/program/validate")
@require_session_token
def validate_program():
    """The same validator as PUT (and `program import`), without saving; plus the preview."""
    doc = _body_document()
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            document = validate_document(shop, doc)
        except ProgramRejected as exc:
            return jsonify(valid=False, error=f"{exc.path}: {exc.message}", path=exc.path,
                           errors={exc.path: exc.message}, preview=[])
        return jsonify(valid=True, errors={}, preview=sample_earnings(document, shop.currency))


@bp.get("/api/program/versions")
@require_session_token
def program_versions():
    with state().db.transaction() as session:
        return jsonify(versions=list_versions(session, current_shop(session)))


@bp.post("/api/program/versions/<int:version>/rollback")
@require_session_token
def program_rollback(version: int):
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            return jsonify(rollback(session, shop, version, f"staff:{g.staff_user_id}"))
        except LookupError:
            return jsonify(error=f"no version {version}"), 404
        except ProgramRejected as exc:  # an old version the validator no longer accepts
            session.rollback()
            return _rejected(exc)


@bp.get("/api/customers/<shopify_id>/ledger")
@require_session_token
def customer_ledger(shopify_id: str):
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_in_shop(session, shop, shopify_id)
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
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        return jsonify(error="points: must be a whole number other than 0", field="points",
                       errors={"points": "must be a whole number other than 0"}), 400
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return jsonify(error="reason: required, say why the balance changes", field="reason",
                       errors={"reason": "required, say why the balance changes"}), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        customer = customer_in_shop(session, shop, shopify_id)
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        try:
            adjust_points(session, shop, customer, amount, reason.strip(), f"admin:{g.staff_user_id}", utcnow())
        except AdjustmentError as exc:
            session.rollback()
            return jsonify(error=str(exc), field="points", errors={"points": str(exc)}), 400
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
        customer = customer_in_shop(session, shop, shopify_id)
        if customer is None:
            return jsonify(error="no such customer in this shop"), 404
        try:
            born = set_birthday(customer, body["birthday"], shop_local(shop, utcnow()).date(), by_merchant=True)
        except BirthdayError as exc:
            return jsonify(error=str(exc), field="birthday"), 400
        return jsonify(customer_id=customer.shopify_id, birthday=born.isoformat())
