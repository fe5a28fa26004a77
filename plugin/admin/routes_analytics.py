"""Admin API: the analytics page (figures, SVG charts, definitions) and CSV exports."""
from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from plugin.admin import bp
from plugin.admin.i18n import choose_lang
from plugin.admin.session import current_shop, require_session_token
from plugin.analytics.live import current_figures
from plugin.analytics.report import RAW_EXPORTS, TABLES, csv_lines, summary
from plugin.app_state import state
from plugin.loyalty.status import shop_program


@bp.get("/api/analytics/summary")
@require_session_token
def analytics_summary():
    with state().db.transaction() as session:
        shop = current_shop(session)
        lang = choose_lang(request.args.get("lang"), shop.primary_locale)
        figures, computed_at = current_figures(session, shop, shop_program(shop))
        return jsonify(summary(shop, figures, computed_at, lang))


@bp.get("/api/analytics/export/<name>.csv")
@require_session_token
def analytics_export(name: str):
    if name not in TABLES and name not in RAW_EXPORTS:
        return jsonify(error=f"name: one of {', '.join([*TABLES, *RAW_EXPORTS])}", field="name"), 404
    app_state = state()

    def generate():
        with app_state.db.transaction() as session:
            shop = current_shop(session)
            yield from csv_lines(session, shop, shop_program(shop), name)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}.csv"})
