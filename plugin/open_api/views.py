"""``/v1``: the open API. Every route but the OpenAPI document needs ``Authorization: Bearer``
with one of the shop's keys; every query is scoped by that key's shop; every write needs an
``Idempotency-Key``. The document (openapi.json beside this file) is kept true by
tests/integration/open_api/test_openapi_document.py."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from plugin.app_state import state
from plugin.customers.lookup import customer_by_reference, ledger_rows
from plugin.loyalty.actions import AdjustmentError, adjust_points
from plugin.loyalty.custom_actions import UnknownAction, award_custom_action
from plugin.loyalty.redemption import ShopifyRefused, UnknownReward, issue_reserved, reserve
from plugin.loyalty.rules.ledger import InsufficientPoints, adjust_key
from plugin.loyalty.rules.money import Money
from plugin.loyalty.status import customer_status, shop_program
from plugin.models import ApiIdempotency, Customer, LedgerEntry, Redemption, Shop, utcnow
from plugin.models.rewards import FAILED, ISSUED, REFUNDED
from plugin.open_api.idempotency import BadIdempotencyKey, check_key, claim, key_digest, remember
from plugin.open_api.keys import authenticate
from plugin.web.json_body import json_object

bp = Blueprint("open_api", __name__, url_prefix="/v1")
DOCUMENT = Path(__file__).with_name("openapi.json")
LEDGER_LIMIT = 500
LAST_USED_EVERY_SECONDS = 60


@cache
def openapi_document() -> dict:
    return json.loads(DOCUMENT.read_text("utf-8"))


def _error(status: int, message: str, field: str | None = None, **extra) -> tuple[Response, int]:
    body = {"error": message} | ({"field": field} if field else {}) | extra
    return jsonify(body), status


@bp.before_request
def require_api_key():
    if request.endpoint == "open_api.document":
        return None
    now = utcnow()
    with state().db.transaction() as session:
        key = authenticate(session, request.headers.get("Authorization"))
        shop = session.get(Shop, key.shop_id) if key is not None else None
        if key is None or shop is None or not shop.installed:
            response, status = _error(401, "a valid API key is required: Authorization: Bearer emb_…")
            response.headers["WWW-Authenticate"] = 'Bearer realm="embajador"'
            return response, status
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS:
            key.last_used_at = now
        g.api_shop_id, g.api_key_id = shop.id, key.id
    return None


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def json_errors_under_v1(error: HTTPException):
    """API clients read JSON: an unknown /v1 path or method answers it too (other paths unchanged)."""
    if not request.path.startswith("/v1/"):
        return error
    return _error(error.code or 404, f"{error.name}: see /v1/openapi.json for the routes")


@bp.get("/openapi.json")
def document():
    """The OpenAPI 3.1 description of /v1 (public: it holds no shop data)."""
    return jsonify(openapi_document())


BY_EMAIL = "by-email"


def _customer(session, shop: Shop, reference: str) -> Customer | None:
    """``reference``: a Shopify customer id, or ``by-email`` with ``?email=``. Emails stay out of
    paths because the access log records paths (never queries: gunicorn.conf.py)."""
    if reference == BY_EMAIL:
        reference = (request.args.get("email") or "").strip()
        if "@" not in reference or len(reference) > 320:
            return None
    elif not reference.isdigit():
        return None
    customer = customer_by_reference(session, shop, reference)
    return None if customer is None or customer.redacted_at is not None else customer


def _not_found() -> tuple[Response, int]:
    return _error(404, "no such customer in this shop: use the Shopify customer id, or by-email?email=…",
                  "customer")


def _balance(customer: Customer) -> dict:
    return {"available": customer.points_available, "pending": customer.points_pending}


def _customer_doc(session, shop: Shop, customer: Customer) -> dict:
    status = customer_status(session, shop, customer, utcnow())
    next_tier = None
    if status.next_tier is not None:
        remaining = status.next_tier.remaining
        remaining = remaining.amount if isinstance(remaining, Money) else remaining
        next_tier = {"name": status.next_tier.name, "metric": status.next_tier.metric,
                     "remaining": format(remaining, "f") if status.next_tier.metric == "spend" else str(int(remaining)),
                     "progress_percent": status.progress_percent}
    return {"id": customer.shopify_id, "email": customer.email, "points": _balance(customer),
            "tier": {"name": status.tier_name} if status.tier_name else None, "next_tier": next_tier,
            "currency": shop.currency}


@bp.get("/customers")
def customer_by_email():
    email = (request.args.get("email") or "").strip()
    if not email or "@" not in email or len(email) > 320:
        return _error(400, "email: required, the customer's email address", "email")
    return customer_detail(BY_EMAIL)


@bp.get("/customers/<customer>")
def customer_detail(customer: str):
    with state().db.transaction() as session:
        shop = session.get(Shop, g.api_shop_id)
        found = _customer(session, shop, customer)
        if found is None:
            return _not_found()
        return jsonify(_customer_doc(session, shop, found))


@bp.get("/customers/<customer>/ledger")
def customer_ledger(customer: str):
    limit = request.args.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= LEDGER_LIMIT:  # "²".isdigit()
        return _error(400, f"limit: a whole number from 1 to {LEDGER_LIMIT}", "limit")
    with state().db.transaction() as session:
        shop = session.get(Shop, g.api_shop_id)
        found = _customer(session, shop, customer)
        if found is None:
            return _not_found()
        return jsonify(customer_id=found.shopify_id, points=_balance(found), tier=found.tier_name,
                       entries=ledger_rows(session, found, limit=int(limit)))


@bp.get("/rewards")
def rewards():
    with state().db.transaction() as session:
        program = shop_program(session.get(Shop, g.api_shop_id))
    return jsonify(rewards=[{"id": r.id, "name": r.name, "cost": r.cost, "type": r.type,
                             "value": None if r.value is None else format(r.value, "f"),
                             "min_subtotal": None if r.min_subtotal is None else format(r.min_subtotal, "f")}
                            for r in sorted(program.rewards, key=lambda r: (r.cost, r.id))],
                   currency=program.currency)


@bp.get("/actions")
def actions():
    with state().db.transaction() as session:
        program = shop_program(session.get(Shop, g.api_shop_id))
    return jsonify(actions=[{"id": a.id, "points": a.points, "limit": a.limit, "cooldown": a.cooldown,
                             "name": a.name} for a in program.actions.custom])


# ---------------------------------------------------------------- writes


def _replay(record: ApiIdempotency, mismatch: bool):
    if mismatch:
        return _error(422, "Idempotency-Key: already used for a different request; use a new key",
                      "Idempotency-Key")
    if record.status_code is None:
        return None  # a redemption: answered from its row
    response = jsonify(record.response)
    response.status_code = record.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency_key():
    try:
        return check_key(request.headers.get("Idempotency-Key")), None
    except BadIdempotencyKey as exc:
        return None, _error(400, str(exc), "Idempotency-Key")


@bp.post("/customers/<customer>/adjust")
def adjust(customer: str):
    key, problem = _idempotency_key()
    if problem:
        return problem
    body = json_object()
    points, reason = body.get("points"), body.get("reason")
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        return _error(400, "points: a whole number other than 0 (negative takes points away)", "points")
    if not isinstance(reason, str) or not reason.strip():
        return _error(400, "reason: required, say why the balance changes", "reason")
    now = utcnow()
    with state().db.transaction() as session:
        shop = session.get(Shop, g.api_shop_id)
        found = _customer(session, shop, customer)
        if found is None:
            return _not_found()
        held = claim(session, shop.id, g.api_key_id, key, f"POST /v1/customers/{found.shopify_id}/adjust",
                     {"points": points, "reason": reason.strip()}, now)
        if not held.new:
            return _replay(held.record, held.mismatch)
        adjustment_id = f"api-{key_digest(key)}"
        try:
            entry_id = adjust_points(session, shop, found, points, reason.strip(), f"api:{g.api_key_id}", now,
                                     adjustment_id=adjustment_id)
        except AdjustmentError as exc:
            session.rollback()
            return _error(400, str(exc), "points")
        entry = session.execute(LedgerEntry.for_shop(shop.id).where(
            LedgerEntry.key == adjust_key(adjustment_id))).scalar_one()
        answer = {"customer_id": found.shopify_id, "points": _balance(found), "tier": found.tier_name,
                  "entry": {"id": str(entry_id or entry.id), "kind": entry.kind, "available": entry.available,
                            "reason": entry.reason, "occurred_at": entry.occurred_at.isoformat()}}
        remember(held.record, 201, answer)
    return jsonify(answer), 201


@bp.post("/customers/<customer>/actions/<action_id>")
def award_action(customer: str, action_id: str):
    key, problem = _idempotency_key()
    if problem:
        return problem
    now = utcnow()
    with state().db.transaction() as session:
        shop = session.get(Shop, g.api_shop_id)
        if shop_program(shop).actions.custom_action(action_id) is None:
            return _error(404, f"action_id: the program has no custom action {action_id!r} "
                               "(actions.custom in the program document)", "action_id")
        found = _customer(session, shop, customer)
        if found is None:
            return _not_found()
        held = claim(session, shop.id, g.api_key_id, key,
                     f"POST /v1/customers/{found.shopify_id}/actions/{action_id}", {}, now)
        if not held.new:
            return _replay(held.record, held.mismatch)
        try:
            award = award_custom_action(session, shop, found, action_id, f"api-{key_digest(key)}", now,
                                        f"api:{g.api_key_id}")
        except UnknownAction:  # the program changed between the two reads
            session.rollback()
            return _error(404, f"action_id: unknown action {action_id!r}", "action_id")
        answer = {"status": award.status, "action_id": award.action_id, "points_awarded": award.points,
                  "customer_id": found.shopify_id, "points": _balance(found),
                  "retry_at": award.retry_at.isoformat() if award.retry_at else None}
        status = 201 if award.awarded else 409
        if not award.awarded:
            answer["error"] = ("this customer reached the action's limit" if award.status == "limit"
                               else "this action is cooling down for this customer; try after retry_at")
        remember(held.record, status, answer)
    return jsonify(answer), status


def _redemption_answer(row: Redemption, balance: int) -> tuple[dict, int]:
    if row.status == ISSUED or (row.status == REFUNDED and row.discount_gid):  # refunded after expiry
        return {"code": row.code, "reward_id": row.reward_id, "cost": row.cost, "redemption_id": str(row.id),
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                "points": {"available": balance}}, 201
    if row.status == FAILED:
        return {"error": "Shopify could not create the code; the points were given back", "status": row.status,
                "redemption_id": str(row.id)}, 502
    return {"error": "this redemption is still being issued; retry with the same Idempotency-Key",
            "status": row.status, "redemption_id": str(row.id)}, 409


@bp.post("/customers/<customer>/redeem")
def redeem(customer: str):
    key, problem = _idempotency_key()
    if problem:
        return problem
    reward_id = json_object().get("reward_id")
    if not isinstance(reward_id, str) or not reward_id:
        return _error(400, "reward_id: required (GET /v1/rewards lists them)", "reward_id")
    app_state, now = state(), utcnow()
    with app_state.db.transaction() as session:
        shop = session.get(Shop, g.api_shop_id)
        found = _customer(session, shop, customer)
        if found is None:
            return _not_found()
        if found.shopify_id is None:  # a guest known by email only: the code could not be bound to them
            return _error(409, "this customer has no Shopify account yet; reward codes are bound to one",
                          "customer")
        held = claim(session, shop.id, g.api_key_id, key, f"POST /v1/customers/{found.shopify_id}/redeem",
                     {"reward_id": reward_id}, now)
        if not held.new:
            replay = _replay(held.record, held.mismatch)
            if replay is not None:
                return replay
            row = session.get(Redemption, held.record.redemption_id)
            answer, status = _redemption_answer(row, found.points_available)
            response = jsonify(answer)
            response.headers["Idempotent-Replayed"] = "true"
            return response, status
        try:
            redemption = reserve(session, shop, found.id, reward_id, now)
        except UnknownReward:  # nothing was done: the key stays free for a corrected request
            session.rollback()
            return _error(400, f"reward_id: unknown reward {reward_id!r}", "reward_id")
        except InsufficientPoints as exc:
            answer = {"error": f"not enough points: this reward needs {exc.needed}, the customer has {exc.available}",
                      "needed": exc.needed, "available": exc.available}
            remember(held.record, 409, answer)
            return jsonify(answer), 409
        held.record.redemption_id = redemption.id
        redemption_id, shop_id, customer_id = redemption.id, shop.id, found.id
    try:
        issue_reserved(app_state, shop_id, redemption_id, now)
    except ShopifyRefused:
        pass  # the row says failed; the answer below reports it
    with app_state.db.transaction() as session:
        row = session.get(Redemption, redemption_id)
        answer, status = _redemption_answer(row, session.get(Customer, customer_id).points_available)
        record = session.execute(ApiIdempotency.for_shop(shop_id).where(ApiIdempotency.key == key)).scalar_one()
        remember(record, status, answer)
    return jsonify(answer), status
