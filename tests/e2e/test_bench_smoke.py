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
    assert lines[-1].startswith("ratio ingress/bare throughput: "), done.stdout  # bench/RESULTS.md reads the last line
    assert any(line.startswith("stored == sent: ") for line in lines), done.stdout


def test_proxy_read_bench_quick_run_answers_correctly_and_prints_the_ratio_last():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "proxy_read.py"), "--quick"], cwd=ROOT,
                          env=process_env({}), capture_output=True, text=True, timeout=180)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "answer checked against the ledger: points, next release, tier progress, latest activity" in lines
    assert lines[-1].startswith("ratio proxy/bare throughput: "), done.stdout
