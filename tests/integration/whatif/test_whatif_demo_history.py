"""The demo's own history on PostgreSQL: the story runs (its what-if chapter included), then the
merchant's richer draft shows a higher liability from the CLI, and the live program compared
with itself shows none."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from plugin.demo.stage import DEMO_SHOP
from tests.conftest import PG_BASE
from tests.e2e.processes import ROOT, process_env

RICHER = ROOT / "docs" / "samples" / "whatif-richer-draft.json"


@pytest.fixture
def demo_db():
    """A schema of its own, built by the demo's migrations like a fresh install."""
    schema = f"t_{os.getpid()}_demo"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _flask(database_url: str, *args: str) -> str:
    env = process_env({"DATABASE_URL": database_url, "EMBAJADOR_MODE": "demo"})
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "plugin", "embajador", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_demo_history_shows_the_liability_a_richer_draft_adds(demo_db, tmp_path):
    story = _flask(demo_db, "demo")
    told = re.search(r"liability (\d+) → (\d+) CLP \(change \+(\d+) CLP\)", story)
    assert told, story[-3000:]
    assert int(told.group(2)) > int(told.group(1)) and int(told.group(3)) == int(told.group(2)) - int(told.group(1))
    assert "what-if #1 (docs/samples/whatif-richer-draft.json" in story and ": done" in story

    report = json.loads(_flask(demo_db, "program", "whatif", "--shop", DEMO_SHOP, "--json", str(RICHER)))
    assert report["orders"] == 6 and report["currency"] == "CLP"
    assert Decimal(report["draft"]["liability"]["amount"]) > Decimal(report["live"]["liability"]["amount"])
    # (not the chapter's figure: its Smile import since added issued points, moving the redemption rate)
    assert Decimal(report["liability_change"]["amount"]) > 0
    assert report["draft"]["issued"] > report["live"]["issued"]

    live = tmp_path / "live.json"
    live.write_text(_flask(demo_db, "program", "export", "--shop", DEMO_SHOP))
    same = json.loads(_flask(demo_db, "program", "whatif", "--shop", DEMO_SHOP, "--json", str(live)))
    assert same["liability_change"]["amount"] == "0" and same["tier_changes"]["count"] == 0
    assert same["live"] == same["draft"]
