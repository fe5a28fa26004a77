"""GET /r/<code>: the link an advocate shares (CONTRACT.md). Never a 500 for the friend."""
from __future__ import annotations

import re

from flask import Blueprint, redirect, request

from plugin.app_state import state
from plugin.models import utcnow
from plugin.referrals.landing import land

bp = Blueprint("referrals", __name__)
# Chat apps fetch a shared link to draw its preview: that is not the friend, so no code is spent.
LINK_PREVIEW = re.compile(r"bot|crawler|spider|preview|facebookexternalhit|whatsapp|slack|telegram|discord|"
                          r"skypeuripreview|embedly|outbrain", re.IGNORECASE)

NOT_FOUND_PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Enlace no encontrado</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:32em;padding:0 1em;color:#202223}</style>
</head><body><h1>Este enlace de invitación no existe</h1>
<p>Revisa que lo hayas copiado completo, o pide a quien te invitó que te lo envíe de nuevo.</p>
<p lang="en">This invitation link does not exist. Check it was copied in full, or ask your friend to send it again.</p>
</body></html>"""


def visitor_ip() -> str | None:
    """The client IP; behind Heroku's router the real one is the LAST X-Forwarded-For entry."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.remote_addr


@bp.get("/r/<code>")
def referral_landing(code: str):
    user_agent = request.headers.get("User-Agent")
    is_preview = request.method == "HEAD" or bool(LINK_PREVIEW.search(user_agent or ""))
    landing = land(state(), code, visitor_ip(), user_agent, utcnow(), issue_code=not is_preview)
    if landing is None:
        return NOT_FOUND_PAGE, 404, {"Content-Type": "text/html; charset=utf-8"}
    response = redirect(landing.location, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
