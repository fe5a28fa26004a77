"""Email batching: 100,000 expiry-warning recipients against a local SendGrid sink.

Batched: render once, 1,000 personalizations per request (emails/batch.py).
Baseline: one request per recipient (build_single), measured on a 1,000-recipient
sample in the same run and extrapolated linearly to 100,000 (said in the output).
Run: .venv/bin/python bench/email_batch.py [N]
"""
from __future__ import annotations

import datetime as dt
import sys
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emails.batch import batch_template, recipients_for, send_batch  # noqa: E402
from emails.mail_request import OutgoingMessage, build_single  # noqa: E402
from emails.render import render_email  # noqa: E402
from emails.sender import SendGridSender  # noqa: E402

SHARED = {"shop_name": "Tienda", "shop_url": "https://tienda.myshopify.com", "tier_name": "Plata",
          "next_tier_name": None, "expires_on": dt.date(2026, 12, 31)}
PER = ["customer_first_name", "points_balance", "expiring_points"]
SENDER = dict(shop="tienda.myshopify.com", from_email="puntos@tienda.test", from_name="Tienda",
              categories=["embajador", "transactional", "expiry-warning"])


class Sink(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        Sink.count += 1
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def rows(n):
    for i in range(n):
        yield f"c{i}@example.com", f"m{i:031d}", {"customer_first_name": f"Cliente {i}", "points_balance": 1000 + i,
                                                   "expiring_points": 100 + i % 50}


def measure(fn):
    Sink.count = 0
    tracemalloc.start()
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Sink.count, elapsed, peak


def main(n: int = 100_000, sample: int = 1_000) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = SendGridSender("SG.bench", f"http://127.0.0.1:{server.server_address[1]}")
    template = batch_template("expiry_warning", "es-CL", SHARED, PER, **SENDER)
    batched = measure(lambda: send_batch(sender, template, recipients_for(rows(n), "es-CL")))

    def one_by_one():
        for email, mid, values in rows(sample):
            r = render_email("expiry_warning", "es-CL", {**SHARED, **values})
            sender.post(build_single(OutgoingMessage(email, "puntos@tienda.test", r.subject, r.html, r.text,
                                                     {"shop": SENDER["shop"], "flow": "expiry_warning",
                                                      "message_id": mid})))
    base = measure(one_by_one)
    server.shutdown()
    scale = n / sample
    print(f"recipients: {n:,}")
    print(f"batched:  {batched[0]:,} requests, {batched[1]:.1f} s, peak memory {batched[2] / 1e6:.1f} MB")
    print(f"baseline (one request per recipient; measured on {sample:,}, extrapolated x{scale:.0f}): "
          f"{base[0] * scale:,.0f} requests, {base[1] * scale:.1f} s, peak memory {base[2] / 1e6:.1f} MB (sample)")
    print(f"ratio: {base[0] * scale / batched[0]:.0f}x fewer requests, {base[1] * scale / batched[1]:.1f}x faster")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
