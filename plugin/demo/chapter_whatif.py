"""Chapter: the merchant tries a richer program on the shop's real history before publishing
it (a what-if run, as the admin page starts it), then brings balances over from Smile."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.loyalty.tier_sync import shop_local
from plugin.loyalty_import.opening_balances import apply, plan
from plugin.loyalty_import.rules.csv_rows import parse
from plugin.models import Shop, utcnow
from plugin.whatif.runs import enqueue_run, find_run, start_run

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
DRAFT = SAMPLES / "whatif-richer-draft.json"
SMILE_EXPORT = SAMPLES / "smile-export.csv"


def _shop(session) -> Shop:
    return session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()


def _what_if(stage) -> None:
    draft = json.loads(DRAFT.read_text("utf-8"), parse_float=Decimal)
    with stage.app_state.db.transaction() as session:
        run_id = start_run(session, _shop(session), draft, "demo").id
    enqueue_run(run_id)  # in the demo the job runs at once, in-process
    with stage.app_state.db.transaction() as session:
        run = find_run(session, _shop(session), run_id)
        report = run.report
    live, new = report["live"], report["draft"]
    stage.say(f"what-if #{run_id} ({DRAFT.relative_to(SAMPLES.parent.parent)}: 2 points per $1.000, Plata from "
              f"$100.000 at × 1.5, 200 signup points, reviews 75 / photo reviews 150) "
              f"on {report['orders']} orders, {report['customers']} customers: {run.status}")
    stage.say(f"points issued {live['issued']} → {new['issued']}; outstanding {live['outstanding']} → "
              f"{new['outstanding']} at the observed redemption rate {report['redemption_rate']}")
    stage.say(f"liability {live['liability']['amount']} → {new['liability']['amount']} {report['currency']} "
              f"(change {Decimal(report['liability_change']['amount']):+} {report['currency']}); customers who "
              f"would change tier: {report['tier_changes']['count']}")


def _switch_from_smile(stage) -> None:
    text = SMILE_EXPORT.read_text("utf-8")
    with stage.app_state.db.transaction() as session:
        shop = _shop(session)
        parsed = parse(text, shop_local(shop, utcnow()).date(), "smile")
        dry = plan(session, shop, parsed)
    stage.say(f"dry run of {SMILE_EXPORT.name}: {dry['matched']} customers matched ({dry['points']['matched']} "
              f"points), {dry['unmatched']} unmatched ({', '.join(dry['unmatched_emails'])}), {dry['invalid']} row "
              f"refused; nothing written")
    for attempt in ("apply", "apply again"):
        with stage.app_state.db.transaction() as session:
            shop = _shop(session)
            done = apply(session, shop, parsed, "smile", "demo", stage.now)["written"]
        stage.say(f"{attempt}: {done['entries']} opening balances, {done['points']} points written")


def run(stage) -> None:
    stage.title("What-if before publishing, and switching from another loyalty app")
    _what_if(stage)
    _switch_from_smile(stage)
    stage.say("the same from the terminal: flask --app plugin embajador program whatif --shop "
              f"{DEMO_SHOP} {DRAFT.relative_to(SAMPLES.parent.parent)}, and import-loyalty --shop {DEMO_SHOP} "
              f"{SMILE_EXPORT.relative_to(SAMPLES.parent.parent)} [--apply]; in the admin: What-if and Import points")
