"""Admin API: the first-run checklist (GET state, then one POST per step)."""
from __future__ import annotations

from flask import g, jsonify, request

from plugin.admin import bp
from plugin.admin.i18n import choose_lang
from plugin.admin.onboarding import (
    IMPORT_JOB,
    OnboardingError,
    choose_preset,
    go_live,
    mark_theme_embed,
    onboarding_view,
    send_sender_test,
    start_import,
)
from plugin.admin.program_versions import ProgramRejected
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.models import utcnow
from plugin.web.json_body import json_object

SEND_JOB = "emails.delivery.send_job.send_outbox_message_job"


def _lang(shop) -> str:
    return choose_lang(request.args.get("locale"), request.headers.get("Accept-Language"), shop.primary_locale)


def _view(session, shop):
    return jsonify(onboarding_view(session, shop, _lang(shop), state().config.api_key))


def _field_error(exc: OnboardingError | ProgramRejected):
    field = exc.field if isinstance(exc, OnboardingError) else exc.path
    return jsonify(error=str(exc), field=field, errors={field: str(exc)}), 400


@bp.get("/api/onboarding")
@require_session_token
def onboarding_get():
    with state().db.transaction() as session:
        return _view(session, current_shop(session))


@bp.post("/api/onboarding/program")
@require_session_token
def onboarding_program():
    preset = json_object().get("preset")
    with state().db.transaction() as session:
        shop = current_shop(session)
        try:
            choose_preset(session, shop, preset if isinstance(preset, str) else "", _lang(shop), g.staff_user_id)
        except (OnboardingError, ProgramRejected) as exc:
            session.rollback()
            return _field_error(exc)
        return _view(session, shop)


@bp.post("/api/onboarding/sender")
@require_session_token
def onboarding_sender():
    app_state = state()
    with app_state.db.transaction() as session:
        shop = current_shop(session)
        try:
            outbox_id = send_sender_test(session, shop, json_object().get("from_email"), _lang(shop),
                                         app_state.config.app_url, utcnow())
        except OnboardingError as exc:
            session.rollback()
            return _field_error(exc)
    app_state.queue.enqueue(SEND_JOB, outbox_id, job_id=f"outbox-{outbox_id}-onboarding")
    with app_state.db.transaction() as session:
        return _view(session, current_shop(session))


@bp.post("/api/onboarding/theme")
@require_session_token
def onboarding_theme():
    enabled = json_object().get("enabled")
    if not isinstance(enabled, bool):
        return jsonify(error="enabled: must be true or false", field="enabled",
                       errors={"enabled": "must be true or false"}), 400
    with state().db.transaction() as session:
        shop = current_shop(session)
        mark_theme_embed(shop, enabled)
        return _view(session, shop)


@bp.post("/api/onboarding/import")
@require_session_token
def onboarding_import():
    app_state = state()
    with app_state.db.transaction() as session:
        shop = current_shop(session)
        if ((shop.settings or {}).get("onboarding") or {}).get("import", {}).get("status") == "running":
            return jsonify(error="an import is already running", field="import"), 409
        attempt, shop_id = start_import(shop), shop.id
    app_state.queue.enqueue(IMPORT_JOB, shop_id, job_id=f"import-{shop_id}-{attempt}")
    with app_state.db.transaction() as session:
        return _view(session, current_shop(session)), 202


@bp.post("/api/onboarding/live")
@require_session_token
def onboarding_live():
    with state().db.transaction() as session:
        shop = current_shop(session)
        steps = onboarding_view(session, shop, "en", state().config.api_key)["steps"]
        try:
            go_live(shop, utcnow(), steps)
        except OnboardingError as exc:
            return jsonify(error=str(exc), field="live"), 409
        return _view(session, shop)
