"""`make bench` keeps working: a --quick run stores every signed delivery it sends and prints its ratio.

Speed is never asserted here (it is measured and recorded in bench/RESULTS.md).
"""
from __future__ import annotations

import subprocess
import sys

from tests.e2e.processes import ROOT, process_env


def test_webhook_ingress_bench_quick_run_loses_no_delivery_and_prints_the_ratio():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "webhook_ingress.py"), "--quick"], cwd=ROOT,
                          env=process_env({}), capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("ratio ingress/bare throughput: ") for line in lines), done.stdout
    assert any(line.startswith("stored == sent: ") for line in lines), done.stdout
