"""SendGrid Event Webhook: what a large signed batch costs the request.

Now: the endpoint verifies the signature, checks the JSON shape, stores the batch and
enqueues a job (RQ on Redis); the events are recorded by the worker.
Baseline (measured in the same run, same batch, same process): what the endpoint did
before — verify, parse and record every event inside the request (``record_events`` in one
transaction). Prints both request times and the ratio; the worker's own time is printed too,
so the work has moved, not vanished. Postgres and Redis in a scratch schema / db index.
Run: .venv/bin/python bench/sendgrid_events.py [EVENTS] (default 20,000)
"""
from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402
from scratch_services import PG_BASE, REDIS_BASE, BenchError, redis_db, scratch_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from emails.delivery.events import record_events  # noqa: E402
from emails.sendgrid.event_signature import parse_events, verify_event_signature  # noqa: E402
from plugin import create_app  # noqa: E402
from plugin.jobs.queue import QUEUE_NAME  # noqa: E402
from plugin.models import Base  # noqa: E402

SIG, TS = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"


def batch(count: int, prefix: str) -> bytes:
    return json.dumps([{"email": f"shopper{n}@example.com", "timestamp": 1700000000 + n, "event": "delivered",
                        "sg_event_id": f"{prefix}-{n}", "sg_message_id": f"msg-{n}", "response": "250 OK"}
                       for n in range(count)]).encode()


def main(count: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    with scratch_schema(PG_BASE) as pg_url, redis_db(REDIS_BASE) as redis_url:
        app = create_app({"EMBAJADOR_MODE": "test", "DATABASE_URL": pg_url, "REDIS_URL": redis_url,
                          "SENDGRID_EVENT_PUBLIC_KEY": public, "SECRET_KEY": "bench", "LOG_FORMAT": "text",
                          "ENCRYPTION_KEY": "3q6L9wF0V2b8C5kqg3Zs8bM8yG0qXcPZ3oQpI9yXbW4="})
        app_state = app.extensions["embajador"]
        Base.metadata.create_all(app_state.db.engine)

        def signed(raw: bytes) -> dict:
            ts = str(int(time.time()))
            sig = base64.b64encode(key.sign(ts.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
            return {SIG: sig, TS: ts}

        with app.app_context():
            raw = batch(count, "inline")
            headers = signed(raw)
            started = time.perf_counter()  # baseline: the old endpoint body, inline
            assert verify_event_signature(public, raw, headers[SIG], headers[TS], now=time.time())
            with app_state.db.transaction() as session:
                inline_counts = record_events(session, parse_events(raw))
            inline = time.perf_counter() - started

            raw = batch(count, "queued")
            headers = signed(raw)
            started = time.perf_counter()
            response = app.test_client().post("/sendgrid/events", data=raw, headers=headers)
            queued = time.perf_counter() - started
            assert response.status_code == 200, response.get_data(as_text=True)

            started = time.perf_counter()
            SimpleWorker([Queue(QUEUE_NAME, connection=app_state.queue.connection)],
                         connection=app_state.queue.connection).work(burst=True)
            worker = time.perf_counter() - started
            with app_state.db.engine.connect() as conn:
                recorded = conn.execute(text("SELECT count(*) FROM email_events")).scalar()
        app_state.db.dispose()
    print(f"events per batch: {count:,}")
    print(f"baseline (recorded inside the request): {inline * 1000:9.1f} ms  ({inline_counts['stored']:,} stored)")
    print(f"now (stored, recorded by a job):        {queued * 1000:9.1f} ms  (request)")
    print(f"    worker recording the batch:         {worker * 1000:9.1f} ms")
    print(f"request time ratio now/baseline: {queued / inline:.3f} (×{inline / queued:.0f} faster); "
          f"events recorded: {recorded:,} of {2 * count:,}")


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
    except BenchError as exc:
        sys.exit(f"bench: {exc}")
