"""Email batching: 100,000 expiry-warning recipients against a local SendGrid sink.

Batched: render once, 1,000 personalizations per request (emails/batch.py) — SendGrid's
v3 Mail Send takes at most 1,000 personalizations per request ("The v3 Mail Send endpoint is
only capable of processing 1000 individual personalizations objects per request",
https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors), so 100,000 recipients
must be exactly 100 requests; the bench exits 2 otherwise.
Part 1 reports the batch send (build + post to the sink) beside the pure request building
(the same 100 bodies built, none posted): wall time without tracemalloc, peak memory from a
second run under tracemalloc (which slows Python down, so its time is not the one printed).
Baseline for the request count: one request per recipient (build_single), measured on a
1,000-recipient sample in the same run and extrapolated linearly to 100,000 (said in the output).
Part 2 (the outbox path a tick really takes, Postgres in a scratch schema): N birthday
rows queued for N customers, sent by ``send_due_messages`` (claim under lock with consent /
cap re-checked and balances read afresh, ≤ 1,000 personalizations per request, record);
baseline: the same rows one job per row (``batch_key`` cleared), measured on a sample and
extrapolated.
Run: .venv/bin/python bench/email_batch.py [N] [--outbox M] [--skip-render]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emails.content.render import render_email  # noqa: E402
from emails.delivery.batch import batch_template, recipients_for, send_batch  # noqa: E402
from emails.sendgrid.client import SendGridSender  # noqa: E402
from emails.sendgrid.mail_request import (  # noqa: E402
    OutgoingMessage,
    build_batches,  # noqa: E402
    build_single,
)

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
    """(requests, wall seconds, peak bytes): time from a plain run, memory from a traced one."""
    Sink.count = 0
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    count = Sink.count
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, elapsed, peak


def main(n: int = 100_000, sample: int = 1_000) -> str:
    """Part 1; returns the ratio line (printed last, after part 2)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = SendGridSender("SG.bench", f"http://127.0.0.1:{server.server_address[1]}")
    template = batch_template("expiry_warning", "es-CL", SHARED, PER, **SENDER)
    batched = measure(lambda: send_batch(sender, template, recipients_for(rows(n), "es-CL")))
    built = {"requests": 0}

    def build_only():
        built["requests"] = sum(1 for _ in build_batches(template, recipients_for(rows(n), "es-CL")))
    building = measure(build_only)

    def one_by_one():
        for email, mid, values in rows(sample):
            r = render_email("expiry_warning", "es-CL", {**SHARED, **values})
            sender.post(build_single(OutgoingMessage(email, "puntos@tienda.test", r.subject, r.html, r.text,
                                                     {"shop": SENDER["shop"], "flow": "expiry_warning",
                                                      "message_id": mid})))
    base = measure(one_by_one)
    server.shutdown()
    expected = -(-n // 1000)
    if batched[0] != expected or built["requests"] != expected:
        print(f"email bench: {batched[0]} requests posted, {built['requests']} built; expected {expected}",
              file=sys.stderr)
        raise SystemExit(2)
    scale = n / sample
    print(f"recipients: {n:,}")
    print(f"batch send (build + post to the local sink): {batched[0]:,} requests, {batched[1]:.1f} s, "
          f"peak memory {batched[2] / 1e6:.1f} MB")
    print(f"request building only (same {built['requests']:,} bodies, none posted): {building[1]:.1f} s, "
          f"peak memory {building[2] / 1e6:.1f} MB")
    print(f"baseline (one request per recipient; measured on {sample:,}, extrapolated x{scale:.0f}): "
          f"{base[0] * scale:,.0f} requests, {base[1] * scale:.1f} s, peak memory {base[2] / 1e6:.1f} MB (sample)")
    print(f"vs one request per recipient: {base[0] * scale / batched[0]:.0f}x fewer requests, "
          f"{base[1] * scale / batched[1]:.1f}x faster")
    return (f"ratio batch send/request building: {batched[1] / building[1]:.2f}x "
            f"({batched[0]} requests for {n:,} recipients; target: {expected} requests)")


def _outbox_env(pg_url: str, sink_url: str) -> dict:
    return {"EMBAJADOR_MODE": "test", "SHOPIFY_API_KEY": "bench-api-key", "SHOPIFY_API_SECRET": "bench-secret",
            "SECRET_KEY": "bench-secret-key", "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4=",
            "DATABASE_URL": pg_url, "APP_URL": "https://embajador.bench", "LOG_LEVEL": "WARNING",
            "SHOPIFY_ADMIN_ORIGIN": "https://admin.shopify.test", "SENDGRID_API_KEY": "SG.bench",
            "SENDGRID_API_HOST": sink_url, "SENDGRID_FROM_EMAIL": "puntos@tienda.test"}


def _queue_rows(app_state, shop_id: int, start: int, count: int, batched: bool) -> None:
    """``count`` customers with a queued birthday row each: the first one through queue_email,
    the rest copied from it in bulk (queue-time rendering is not what this measures)."""
    from sqlalchemy import insert, select

    from emails.delivery.outbox import message_id_for, queue_email
    from plugin.models import Customer, OutboxMessage, Shop
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        ids = list(session.execute(insert(Customer).returning(Customer.id), [
            dict(shop_id=shop_id, shopify_id=str(10**6 + i), email=f"c{i}@example.com", first_name=f"Cliente {i}",
                 locale="es-CL", marketing_state="SUBSCRIBED", points_available=1000 + i, tier_name="Bronce")
            for i in range(start, start + count)]).scalars())
        first = session.get(Customer, ids[0])
        queue_email(session, shop=shop, flow="birthday", message_key=f"birthday:{ids[0]}", to_email=first.email,
                    customer=first, context={"birthday_points": 200})
        model = session.execute(select(OutboxMessage).where(OutboxMessage.customer_id == ids[0])).scalar_one()
        copy = {c: getattr(model, c) for c in ("flow", "priority", "marketing", "locale", "subject", "html", "text",
                                              "status", "send_after", "context")}
        copy["batch_key"] = model.batch_key if batched else None
        if not batched:
            model.batch_key = None
        session.execute(insert(OutboxMessage), [
            dict(copy, shop_id=shop_id, customer_id=cid, message_key=f"birthday:{cid}", to_email=f"c{i}@example.com",
                 to_name=f"Cliente {i} Rojas", message_id=message_id_for(shop.domain, f"birthday:{cid}"))
            for i, cid in zip(range(start + 1, start + count), ids[1:], strict=False)])


def outbox_part(n: int, sample: int, sink_url: str) -> None:
    import logging
    from datetime import timedelta

    from scratch_services import PG_BASE, scratch_schema

    from emails.delivery.scheduling import send_due_messages
    from plugin import create_app
    from plugin.loyalty.rules.program import default_program, dump_program
    from plugin.models import Base, utcnow
    from plugin.shopify.oauth import TokenSet
    from plugin.shops.tokens import install_shop
    with scratch_schema(PG_BASE) as pg_url:
        app = create_app(_outbox_env(pg_url, sink_url))
        logging.getLogger("embajador").setLevel(logging.WARNING)
        app_state = app.extensions["embajador"]
        Base.metadata.create_all(app_state.db.engine)
        with app.app_context():
            with app_state.db.transaction() as session:
                shop = install_shop(session, app_state.cipher, SENDER["shop"], TokenSet("shpat_b", "read_orders", None),
                                    utcnow())
                shop.name, shop.currency, shop.primary_locale = "Tienda", "CLP", "es"
                shop.program = dump_program(default_program("CLP"))
                shop.settings = {"emails": {"asm_group_id": 7, "frequency_cap": 1}}
                shop_id = shop.id
            _queue_rows(app_state, shop_id, 0, n, batched=True)
            now = utcnow() + timedelta(seconds=1)
            batched = measure(lambda: send_due_messages(app_state, now))
            _queue_rows(app_state, shop_id, n, sample, batched=False)
            later = utcnow() + timedelta(seconds=1)
            base = measure(lambda: send_due_messages(app_state, later))
        app_state.db.dispose()
    scale = n / sample
    print(f"outbox path, {n:,} birthday rows in Postgres:")
    print(f"  batched:  {batched[0]:,} requests, {batched[1]:.1f} s, peak memory {batched[2] / 1e6:.1f} MB")
    print(f"  baseline (one job per row; measured on {sample:,}, extrapolated x{scale:.0f}): {base[0] * scale:,.0f} "
          f"requests, {base[1] * scale:.1f} s")
    print(f"  ratio: {base[0] * scale / batched[0]:.0f}x fewer requests, {base[1] * scale / batched[1]:.1f}x faster")


if __name__ == "__main__":
    args = sys.argv[1:]
    outbox_n = int(args[args.index("--outbox") + 1]) if "--outbox" in args else 10_000
    positional = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] != "--outbox")]
    ratio = None
    if "--skip-render" not in args:
        ratio = main(int(positional[0]) if positional else 100_000)
    if outbox_n:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            outbox_part(outbox_n, min(500, outbox_n), f"http://127.0.0.1:{server.server_address[1]}")
        finally:
            server.shutdown()
    if ratio:
        print(ratio)
