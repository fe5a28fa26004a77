"""Admin API: the shop, its webhook inbox and privacy exports."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, jsonify, request
from sqlalchemy import select

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.models import CustomerDataExport, WebhookDelivery

# Shopify: act on customers/data_request within 30 days
# (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance#customers-data_request).
DATA_REQUEST_DEADLINE = timedelta(days=30)


@bp.get("/api/shop")
@require_session_token
def shop_info():
    with state().db.transaction() as session:
        shop = current_shop(session)
        return jsonify(domain=shop.domain, name=shop.name, currency=shop.currency, locale=shop.primary_locale,
                       installed=shop.installed, timezone=shop.iana_timezone,
                       needs_reauth=shop.needs_reauth_at is not None,
                       needs_reauth_since=shop.needs_reauth_at.isoformat() if shop.needs_reauth_at else None)


@bp.get("/api/inbox")
@require_session_token
def inbox():
    status = request.args.get("status")
    with state().db.transaction() as session:
        shop = current_shop(session)
        query = (select(WebhookDelivery).where(WebhookDelivery.shop_id == shop.id)
                 .order_by(WebhookDelivery.id.desc()).limit(100))
        if status:
            query = query.where(WebhookDelivery.status == status)
        rows = session.execute(query).scalars().all()
        return jsonify(deliveries=[{"id": d.id, "topic": d.topic, "status": d.status, "attempts": d.attempts,
                                    "received_at": d.received_at.isoformat(), "last_error": d.last_error}
                                   for d in rows])


@bp.get("/api/data-exports")
@require_session_token
def data_exports():
    with state().db.transaction() as session:
        shop = current_shop(session)
        rows = session.execute(CustomerDataExport.for_shop(shop.id).order_by(CustomerDataExport.id.desc())).scalars()
        return jsonify(exports=[{"id": e.id, "customer_shopify_id": e.customer_shopify_id,
                                 "data_request_id": e.data_request_id, "created_at": e.created_at.isoformat(),
                                 "due_at": (e.created_at + DATA_REQUEST_DEADLINE).isoformat()}
                                for e in rows])


@bp.get("/api/data-exports/<int:export_id>")
@require_session_token
def data_export(export_id: int):
    with state().db.transaction() as session:
        shop = current_shop(session)
        export = session.execute(CustomerDataExport.for_shop(shop.id).where(CustomerDataExport.id == export_id)
                                 ).scalar_one_or_none()
        if export is None:
            abort(404)
        response = jsonify(export.data)
        response.headers["Content-Disposition"] = f"attachment; filename=customer-{export.customer_shopify_id}.json"
        return response
