"""The first-run checklist: program chosen, sender verified by a test send, theme app embed
on, customers imported, live. Its state lives in ``shop.settings["onboarding"]``."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from emails.delivery.outbox import queue_email
from plugin.admin.email_samples import sample_context
from plugin.admin.i18n import strings
from plugin.admin.presets import PRESETS, preset_document, sample_earnings
from plugin.admin.program_versions import save_program
from plugin.app_state import state
from plugin.models import OutboxMessage, Shop
from plugin.orders.backfill import import_orders
from plugin.shopify.errors import ShopifyError
from plugin.shops.backfill import BackfillFailed, import_customers
from plugin.shops.tokens import ShopNotInstalled

STEPS = ("program", "sender", "theme", "import", "live")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
SENT_STATUSES = ("sent", "outbox")
IMPORT_JOB = "plugin.admin.onboarding.import_customers_job"
# The storefront widget's app embed block (its file name is the handle).
EMBED_HANDLE = "app-embed"  # extensions/embajador-widget/blocks/app-embed.liquid


class OnboardingError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _state(shop: Shop) -> dict[str, Any]:
    return dict((shop.settings or {}).get("onboarding") or {})


def _update(shop: Shop, **changes: Any) -> None:
    shop.settings = {**(shop.settings or {}), "onboarding": {**_state(shop), **changes}}


def theme_editor_url(shop: Shop, api_key: str) -> str:
    """Deep link that opens the theme editor with our app embed ready to switch on
    (https://shopify.dev/docs/apps/build/online-store/theme-app-extensions/configuration#app-embed-block-deep-linking)."""
    return f"https://{shop.domain}/admin/themes/current/editor?context=apps&activateAppId={api_key}/{EMBED_HANDLE}"


def onboarding_view(session: Session, shop: Shop, lang: str, api_key: str) -> dict:
    state = _state(shop)
    test = session.get(OutboxMessage, state["sender_test_id"]) if state.get("sender_test_id") else None
    steps = {"program": bool(state.get("preset")),
             "sender": test is not None and test.shop_id == shop.id and test.status in SENT_STATUSES,
             "theme": bool(state.get("theme_embed")),
             "import": (state.get("import") or {}).get("status") == "done",
             "live": bool(state.get("live_at"))}
    t = strings(lang)
    presets = []
    for name in PRESETS:
        doc = preset_document(name, shop.currency, lang)
        preview = [t["preview.order"].format(total=f"{r['order_total']} {shop.currency}", points=r["points"])
                   + (f" ({r['tier']})" if r["tier"] else "") for r in sample_earnings(doc, shop.currency)]
        presets.append({"id": name, "name": t[f"preset.{name}"], "description": t[f"preset.{name}.d"],
                        "preview": preview})
    emails = (shop.settings or {}).get("emails") or {}
    return {"steps": steps, "preset": state.get("preset"), "presets": presets,
            "sender": {"from_email": emails.get("from_email"), "test_status": test.status if test else None},
            "theme_editor_url": theme_editor_url(shop, api_key),
            "import": state.get("import") or {}}


def choose_preset(session: Session, shop: Shop, name: str, lang: str, saved_by: str | None) -> dict:
    if name not in PRESETS:
        raise OnboardingError("preset", f"must be one of {', '.join(PRESETS)}")
    document = save_program(session, shop, preset_document(name, shop.currency, lang), saved_by,
                            note=f"preset: {name}")
    _update(shop, preset=name)
    return document


def send_sender_test(session: Session, shop: Shop, from_email: Any, lang: str, app_url: str,
                     now: datetime) -> int:
    """Save the sender and queue a sample email to it; returns the outbox id to send."""
    if not isinstance(from_email, str) or not EMAIL.match(from_email.strip()):
        raise OnboardingError("from_email", "must be an email address like tienda@example.com")
    address = from_email.strip().lower()
    emails = dict((shop.settings or {}).get("emails") or {})
    emails.update(from_email=address, merchant_email=emails.get("merchant_email") or address)
    shop.settings = {**(shop.settings or {}), "emails": emails}
    context = sample_context("welcome", shop.name or shop.domain, f"https://{shop.domain}", shop.currency, lang,
                             app_url)
    outbox_id = queue_email(session, shop=shop, flow="welcome", to_email=address, context=context, locale=lang,
                            message_key=f"onboarding:sender-test:{address}:{now.isoformat()}", test_send=True)
    if outbox_id is None:
        raise OnboardingError("from_email", "this test was already sent; try again")
    _update(shop, sender_test_id=outbox_id)
    return outbox_id


def mark_theme_embed(shop: Shop, enabled: bool) -> None:
    _update(shop, theme_embed=bool(enabled))


def start_import(shop: Shop) -> int:
    """Mark an import as running; returns its attempt number (for the job id)."""
    current = _state(shop).get("import") or {}
    attempt = int(current.get("attempt", 0)) + 1
    _update(shop, **{"import": {"status": "running", "done": 0, "total": 0, "attempt": attempt}})
    return attempt


def go_live(shop: Shop, now: datetime, steps: dict[str, bool]) -> None:
    missing = [s for s in STEPS if s != "live" and not steps[s]]
    if missing:
        raise OnboardingError("live", f"finish these steps first: {', '.join(missing)}")
    _update(shop, live_at=now.isoformat())


def import_customers_job(shop_id: int) -> str:
    """RQ/inline job (runs in the app's context): the existing bulk import, its progress written
    where the page reads it."""
    app_state = state()

    def progress(done: int, total: int, status: str = "running", error: str | None = None) -> None:
        with app_state.db.transaction() as session:
            shop = session.get_one(Shop, shop_id)
            attempt = (_state(shop).get("import") or {}).get("attempt", 1)
            _update(shop, **{"import": {"status": status, "done": done, "total": max(total, done),
                                        "attempt": attempt, "error": error}})

    try:
        counts = import_customers(app_state, shop_id, on_progress=progress)
        import_orders(app_state, shop_id)  # for analytics; customers are what the checklist counts
    except (BackfillFailed, ShopifyError, ShopNotInstalled) as exc:
        progress(0, 0, "failed", str(exc)[:200])
        return "failed"
    progress(counts["imported"], counts["imported"], "done")
    return "done"
