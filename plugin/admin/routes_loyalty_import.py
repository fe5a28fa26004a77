"""Admin API: opening balances from another loyalty app's CSV — a dry run, then apply."""
from __future__ import annotations

import csv

from flask import g, jsonify

from plugin.admin import bp
from plugin.admin.session import current_shop, require_session_token
from plugin.app_state import state
from plugin.loyalty.tier_sync import shop_local
from plugin.loyalty_import.opening_balances import apply, plan
from plugin.loyalty_import.rules.csv_rows import ImportFileError, parse
from plugin.models import utcnow
from plugin.web.json_body import json_object

MAX_CSV_CHARS = 20_000_000


def _request():
    """``{"csv": text, "source": "auto|smile|loyaltylion", "mapping": {field: header}}`` checked."""
    body = json_object()
    text, source, mapping = body.get("csv"), body.get("source") or "auto", body.get("mapping") or {}
    if not isinstance(text, str) or not text.strip():
        raise ImportFileError("csv: required, the file's text")
    if len(text) > MAX_CSV_CHARS:
        raise ImportFileError(f"csv: larger than {MAX_CSV_CHARS:,} characters; split the file")
    if not isinstance(source, str):
        raise ImportFileError("source: must be auto, smile or loyaltylion")
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ImportFileError("map: must be an object of field → column header")
    return text, source, {k: v for k, v in mapping.items() if v.strip()}


def _refused(exc: Exception):
    message = str(exc)
    field = message.split(":", 1)[0] if ":" in message else "csv"
    return jsonify(error=message, field=field, errors={field: message}), 400


@bp.post("/api/loyalty-import/dry-run")
@require_session_token
def loyalty_import_dry_run():
    try:
        text, source, mapping = _request()
        with state().db.transaction() as session:
            shop = current_shop(session)
            return jsonify(plan(session, shop, parse(text, shop_local(shop, utcnow()).date(), source, mapping)))
    except (ImportFileError, csv.Error) as exc:
        return _refused(exc)


@bp.post("/api/loyalty-import/apply")
@require_session_token
def loyalty_import_apply():
    try:
        text, source, mapping = _request()
        with state().db.transaction() as session:
            shop = current_shop(session)
            parsed = parse(text, shop_local(shop, utcnow()).date(), source, mapping)
            label = source if source != "auto" else "another loyalty app"
            return jsonify(apply(session, shop, parsed, label, f"admin:{g.staff_user_id}", utcnow()))
    except (ImportFileError, csv.Error) as exc:
        return _refused(exc)
