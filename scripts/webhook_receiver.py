"""A tiny receiver for Embajador's outbound webhooks that verifies every signature.

    EMBAJADOR_WEBHOOK_SECRET=whsec_... python scripts/webhook_receiver.py [--port 8765]

Prints each verified event (type, id, data) and answers 200; a missing, wrong or stale
signature is answered 400 and printed as REFUSED. Standard library only: copy
``verify_signature`` into your own receiver.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify_signature(header: str, body: bytes, secret: str, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """``Embajador-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``."""
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in items if key.strip() == "t"]
    signatures = [value.strip() for key, value in items if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs(time.time() - timestamp) > tolerance:  # an old, replayed request
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def make_handler(secret: str):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not verify_signature(self.headers.get("Embajador-Signature", ""), body, secret):
                print("REFUSED: bad or missing Embajador-Signature", flush=True)
                self.send_response(400)
                self.end_headers()
                return
            event = json.loads(body)
            print(f"{event['type']} {event['id']} {json.dumps(event['data'], ensure_ascii=False)}", flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # quiet: the events above are the output
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    secret = os.environ.get("EMBAJADOR_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("set EMBAJADOR_WEBHOOK_SECRET to the secret shown when you added the endpoint")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(secret))
    print(f"listening on http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
