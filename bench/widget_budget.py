"""Storefront widget budgets: bytes the storefront downloads, and Lighthouse with vs. without it.

1. Size: the extension's JS + CSS gzipped (level 9), against the 10 KB budget and the widgets of
   Smile.io (104.75 KB) and LoyaltyLion (113.45 KB) (BRIEF.md "Numbers to beat").
2. Lighthouse 12.2.3 (npm, pinned in package-lock.json) in Debian's Chromium, performance
   category, default mobile emulation with simulated throttling, against the local sample product
   page rendered from the extension's real Liquid blocks: the same page without the widget
   (baseline, same run), with it as a guest, and with it as a logged-in member. The widget's JSON
   comes from the real app (gunicorn on a scratch Postgres schema) through the signing App Proxy shim.

Usage: .venv/bin/python bench/widget_budget.py [--runs 3] [--quick]   (make bench-widget)
Results are recorded in bench/RESULTS.md ("Storefront widget"), never asserted in tests.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402
from webhook_ingress import SECRET, SHOP, app_env, prepare_app  # noqa: E402

from tests.browser.storefront import EXTENSION, storefront  # noqa: E402
from tests.e2e.processes import gunicorn  # noqa: E402

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
BUDGET_KB = 10.0
RIVALS_KB = {"Smile.io": 104.75, "LoyaltyLion": 113.45}
MEMBER = "7001"
ASSETS = ("embajador.js", "embajador.css")


def gzipped_kb(name: str) -> float:
    return len(gzip.compress((EXTENSION / "assets" / name).read_bytes(), compresslevel=9)) / 1024


def size_report() -> float:
    sizes = {name: gzipped_kb(name) for name in ASSETS}
    total = sum(sizes.values())
    parts = ", ".join(f"{name} {kb:.2f} KB" for name, kb in sizes.items())
    rivals = ", ".join(f"{who} {kb:.2f} KB ({kb / total:.1f}x ours)" for who, kb in RIVALS_KB.items())
    print(f"widget JS+CSS gzip -9: {total:.2f} KB ({parts}); budget {BUDGET_KB:.0f} KB: "
          f"{'met' if total <= BUDGET_KB else 'MISSED'}; {rivals}")
    return total


def seed_member(app_state) -> None:
    """A CLP shop with the default Spanish program and one member with points and tier progress."""
    from sqlalchemy import select

    from plugin.loyalty.actions import adjust_points
    from plugin.loyalty.rules.program import default_program, dump_program
    from plugin.models import Customer, Shop, utcnow
    with app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.currency, shop.primary_locale = "CLP", "es"
        shop.program = dump_program(default_program("CLP", "es"))
        member = Customer(shop_id=shop.id, shopify_id=MEMBER, first_name="Camila", locale="es-CL")
        session.add(member)
        session.flush()
        adjust_points(session, shop, member, 700, "bench balance", "bench", utcnow())


def lighthouse(url: str, cookie: str | None, out: Path) -> dict:
    args = [str(LIGHTHOUSE), url, "--only-categories=performance", "--output=json", f"--output-path={out}",
            "--quiet", "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking"]
    if cookie:
        args.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    done = subprocess.run(args, env=dict(os.environ, CHROME_PATH=CHROMIUM), capture_output=True, text=True,
                          timeout=240)
    if done.returncode != 0 or not out.exists():
        raise BenchError(f"lighthouse failed: {done.stderr[-500:]}")
    report = json.loads(out.read_text())
    if report.get("runtimeError"):
        raise BenchError(f"lighthouse: {report['runtimeError']}")
    audits = report["audits"]
    ours = [r for r in audits["network-requests"]["details"]["items"]
            if "/assets/embajador" in r["url"] or "/apps/embajador" in r["url"]]
    blocking = [i["url"] for i in (audits["render-blocking-resources"].get("details") or {}).get("items", [])]
    return {"score": round(report["categories"]["performance"]["score"] * 100),
            "tbt": audits["total-blocking-time"]["numericValue"],
            "lcp": audits["largest-contentful-paint"]["numericValue"],
            "cls": audits["cumulative-layout-shift"]["numericValue"],
            "bytes": audits["total-byte-weight"]["numericValue"],
            "widget_requests": len(ours), "widget_transfer": sum(r.get("transferSize", 0) for r in ours),
            "widget_blocking": [u for u in blocking if "embajador" in u]}


def lighthouse_report(base: str, runs: int, work: Path) -> None:
    variants = {"bare": (f"{base}/products/poncho?widget=0", None),
                "guest": (f"{base}/products/poncho", None),
                "member": (f"{base}/products/poncho", f"customer_id={MEMBER}")}
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for run in range(runs):  # interleaved so machine noise hits every variant alike
        for name, (url, cookie) in variants.items():
            results[name].append(lighthouse(url, cookie, work / f"{name}-{run}.json"))
    median = {name: {k: statistics.median(r[k] for r in rows) for k in ("score", "tbt", "lcp", "cls", "bytes")}
              for name, rows in results.items()}
    bare = median["bare"]
    print(f"lighthouse 12.2.3 performance, median of {runs} (mobile, simulated throttling), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    for name, m in median.items():
        last = results[name][-1]
        print(f"  {name:6} score {m['score']:.0f} (runs {[r['score'] for r in results[name]]}), "
              f"TBT {m['tbt']:.0f} ms, LCP {m['lcp']:.0f} ms, CLS {m['cls']:.3f}, "
              f"page bytes {m['bytes'] / 1024:.1f} KB; "
              f"widget requests {last['widget_requests']}, transferred {last['widget_transfer'] / 1024:.2f} KB, "
              f"render-blocking {last['widget_blocking'] or 'none'}")
    for name in ("guest", "member"):
        print(f"score delta {name} - bare: {median[name]['score'] - bare['score']:+.0f} points "
              f"(budget: within 2); ratio LCP {name}/bare: {median[name]['lcp'] / bare['lcp']:.3f}")


LONG_TASKS = """new Promise(done => { const seen = [];
  new PerformanceObserver(list => seen.push(...list.getEntries())).observe({type: 'longtask', buffered: true});
  setTimeout(() => done(seen.map(e => e.duration)), 50); })"""


def main_thread_report(base: str, runs: int) -> None:
    """Chromium's own counters (CDP ``Performance.getMetrics``: CPU time of the page's main thread
    in script, layout and tasks) and long tasks, per variant, after the widget has rendered; less
    sensitive to a busy machine than Lighthouse's simulated timings."""
    from playwright.sync_api import sync_playwright
    variants = {"bare": ("?widget=0", None), "guest": ("", None), "member": ("", MEMBER)}
    rows: dict[str, list[dict]] = {name: [] for name in variants}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for _ in range(runs):
            for name, (query, member) in variants.items():
                context = browser.new_context()
                if member:
                    context.add_cookies([{"name": "customer_id", "value": member, "url": base}])
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.goto(f"{base}/products/poncho{query}", wait_until="networkidle")
                if name != "bare":
                    page.wait_for_function("document.querySelector('[data-embajador-earn]').textContent !== ''")
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                long_tasks = page.evaluate(LONG_TASKS)
                transfer = page.evaluate("performance.getEntriesByType('resource')"
                                         ".filter(r => /embajador/.test(r.name))"
                                         ".reduce((sum, r) => sum + r.transferSize, 0)")
                rows[name].append({"script": metrics["ScriptDuration"] * 1000, "task": metrics["TaskDuration"] * 1000,
                                   "layout": metrics["LayoutDuration"] * 1000, "long": sum(long_tasks),
                                   "transfer": transfer})
                context.close()
        browser.close()
    median = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rows.items()}
    print(f"main thread (Chromium CDP metrics, no throttling), median of {runs}:")
    for name, m in median.items():
        print(f"  {name:6} script {m['script']:.1f} ms, all tasks {m['task']:.1f} ms, layout {m['layout']:.1f} ms, "
              f"long tasks {m['long']:.0f} ms, widget transfer {m['transfer'] / 1024:.2f} KB")
    for name in ("guest", "member"):
        print(f"ratio all-tasks {name}/bare: {median[name]['task'] / median['bare']['task']:.2f}; "
              f"added main-thread time {median[name]['task'] - median['bare']['task']:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="size, and one Lighthouse run per page")
    parser.add_argument("--skip-lighthouse", action="store_true", help="size and main-thread metrics only")
    options = parser.parse_args()
    try:
        size_report()
        if not LIGHTHOUSE.exists():
            raise BenchError("node_modules/.bin/lighthouse is missing: run `make bench-widget` (npm ci)")
        with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url, \
                tempfile.TemporaryDirectory() as tmp:
            env = app_env(pg_url, redis_url)
            app_state = prepare_app(env)
            seed_member(app_state)
            work = Path(tmp)
            with gunicorn(env, work) as app_url, storefront(app_url, SECRET, SHOP) as front:
                main_thread_report(front.url, 3 if options.quick else 3 * options.runs)
                if not options.skip_lighthouse:
                    lighthouse_report(front.url, 1 if options.quick else options.runs, work)
            app_state.db.dispose()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
