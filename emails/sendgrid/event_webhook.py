"""SendGrid's Event Webhook (POST /sendgrid/events): verify the ECDSA signature over the
exact bytes and that it was made within the last 10 minutes, hand the raw batch to the
store the app factory passes in (emails/delivery/event_batches.py: one INSERT, then a job
parses and records it), answer. Parsing 20,000 events alone takes longer than a request
should, so a signed body that is not an event array is recorded ``failed`` by the job.
Nothing is stored when the signature fails."""
from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, jsonify, request

from emails.sendgrid.event_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_event_signature
from plugin.app_state import AppState, state

BatchStore = Callable[[AppState, bytes], int]


def wall_clock() -> float:
    """The time signatures are checked against (a seam for tests of recorded vectors)."""
    return time.time()


def event_webhook_blueprint(store_batch: BatchStore) -> Blueprint:
    """The blueprint of the Event Webhook; ``store_batch`` keeps a verified body, returns its id."""
    bp = Blueprint("sendgrid", __name__)

    @bp.post("/sendgrid/events")
    def sendgrid_events():
        app_state = state()
        key = app_state.config.sendgrid_event_public_key
        if not key:
            return jsonify(error="SENDGRID_EVENT_PUBLIC_KEY is not configured"), 503
        raw = request.get_data(cache=False)
        if not verify_event_signature(key, raw, request.headers.get(SIGNATURE_HEADER),
                                      request.headers.get(TIMESTAMP_HEADER), now=wall_clock()):
            return jsonify(error="bad or expired signature"), 401
        try:
            batch_id = store_batch(app_state, raw)
        except UnicodeDecodeError:
            return jsonify(error="the event body is not UTF-8 JSON"), 400
        return jsonify(status="queued", batch_id=batch_id), 200

    return bp
