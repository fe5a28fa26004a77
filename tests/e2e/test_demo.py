"""`make demo` as a newcomer runs it: no Postgres, no Redis, no keys — and the story shows."""
from __future__ import annotations

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
    assert "/admin/oauth/authorize" in out and "webhook topics subscribed" in out
    assert "customers table: 3 rows" in out
    assert "same event id → duplicate" in out
    assert "installed=False, token kept=False" in out
    assert out.rstrip().endswith("Demo finished.")


def test_demo_can_be_run_twice(tmp_path):
    run_demo(tmp_path)
    assert "customers table: 3 rows" in run_demo(tmp_path)
