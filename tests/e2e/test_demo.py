"""`make demo` as a newcomer runs it: no Postgres, no Redis, no keys — and the story shows."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.e2e.processes import ROOT, process_env


def run_demo(tmp_path) -> str:
    env = process_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "EMBAJADOR_MODE": "demo"})
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "plugin", "embajador", "demo"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_demo_tells_the_whole_story_on_embedded_defaults(tmp_path):
    out = run_demo(tmp_path)
    assert "jobs in-process" in out and "sqlite" in out
    assert "/admin/oauth/authorize" in out and "webhooks come from shopify.app.toml (0 registered per shop" in out
    assert "each new shopper's language read once from the Admin API: 3 customers" in out
    assert "customers table: 3 rows" in out
    assert "same event id → duplicate" in out
    assert "orders/paid #1001 for $400.000 CLP → delivery" in out and "400 points pending for 14 days" in out
    assert "tier-up: Bronce → Plata" in out
    assert "the same order delivered again with a new event id → still 250 available, 400 pending" in out
    assert "João buys in the shop (POS) for $45.000 CLP → 150 available, 45 pending" in out
    assert "partial refund of $100.000 of $400.000 → clawback of 100 points" in out
    assert "released 345 points; Valentina: 550 available, 0 pending, tier Plata" in out
    assert "POST /proxy/redeem 5off → 200, code TIENDA-" in out and "50 points left" in out
    assert "redeeming again → 409: not enough points" in out
    assert "valentina@example.cl · welcome · [es] Valentina, te damos la bienvenida" in out
    assert "valentina@example.cl · points_earned · [es] +" in out
    assert "valentina@example.cl · tier_changed · [es] ¡Felicidades! Ya eres" in out
    assert "valentina@example.cl · feedback_request · [es] ¿Qué tal tu pedido" in out
    assert "complaint #1 for order #1001: score 3, status open" in out
    assert "merchant notified: dueno@tienda-embajador.test · Nuevo caso: Valentina Rojas dio 3" in out
    assert "Valentina shares her link: http" in out and "/r/" in out
    assert "Camila lands → 302 https://tienda-embajador.myshopify.com/discount/AMIGO-" in out
    assert "usage limit 1, any customer" in out
    assert "→ referral successful, Valentina +500 points (pending until" in out
    assert "still 1 referral reward for Valentina" in out
    assert "Valentina uses her own link (AMIGO-" in out and "→ referral held: self_referral" in out
    assert "+1 h: abandoned_checkout_1 → valentina@example.cl" in out
    assert "+24 h: abandoned_checkout_2 → valentina@example.cl" in out
    assert "+72 h: abandoned_checkout_3 → valentina@example.cl" in out
    assert "demo-ck-valentina: step 1 sent, step 2 sent, step 3 sent — code VUELVE-" in out
    assert "+1 h: abandoned_checkout_1 → joao@example.com.br" in out and "abandoned_checkout_2 → joao" not in out
    assert "demo-ck-joao: step 1 sent, step 2 cancelled, step 3 cancelled" in out
    assert "abandoned checkouts: 2 emailed, 1 recovered, recovered revenue 71970 CLP" in out
    assert "actions.custom = review 50, photo_review 100" in out and "API key (admin → API & reviews, shown once): emb_" in out
    assert "→ 201 awarded: +50 points" in out and "the same call again: 201, replayed=true" in out
    assert "(signed JUDGEME-HMAC-SHA256) → 200 awarded photo_review +100 points" in out
    assert "what-if #1 (docs/samples/whatif-richer-draft.json" in out and "customers: done" in out
    assert re.search(r"liability (\d+) → (\d+) CLP \(change \+\d+ CLP\)", out)
    assert "dry run of smile-export.csv: 3 customers matched (1550 points), 1 unmatched (ana.perez@example.org), " \
           "1 row refused; nothing written" in out
    assert "apply: 2 opening balances, 1550 points written" in out
    assert "apply again: 0 opening balances, 0 points written" in out
    assert "installed=False, token kept=False" in out
    assert out.rstrip().endswith("Demo finished.")


def test_demo_can_be_run_twice(tmp_path):
    run_demo(tmp_path)
    assert "customers table: 3 rows" in run_demo(tmp_path)
