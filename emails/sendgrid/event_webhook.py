"""SendGrid's Event Webhook (POST /sendgrid/events): verify the ECDSA signature over the
exact bytes, parse, then hand the events to the recorder the app factory passes in
(emails/delivery/events.py); nothing is stored on failure."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify, request
from sqlalchemy.orm import Session

from emails.sendgrid.event_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Event,
    EventPayloadError,
    parse_events,
    verify_event_signature,
)
from plugin.app_state import state

EventRecorder = Callable[[Session, list[Event]], dict]


def event_webhook_blueprint(record_events: EventRecorder) -> Blueprint:
    """The blueprint of the Event Webhook; ``record_events`` stores verified events, returns counts."""
    bp = Blueprint("sendgrid", __name__)

    @bp.post("/sendgrid/events")
    def sendgrid_events():
        """Verify the ECDSA signature over the exact bytes, then record; nothing stored on failure."""
        app_state = state()
        key = app_state.config.sendgrid_event_public_key
        if not key:
            return jsonify(error="SENDGRID_EVENT_PUBLIC_KEY is not configured"), 503
        raw = request.get_data(cache=False)
        if not verify_event_signature(key, raw, request.headers.get(SIGNATURE_HEADER),
                                      request.headers.get(TIMESTAMP_HEADER)):
            return jsonify(error="bad signature"), 401
        try:
            events = parse_events(raw)
        except EventPayloadError as exc:
            return jsonify(error=str(exc)), 400
        with app_state.db.transaction() as session:
            counts = record_events(session, events)
        return jsonify(counts), 200

    return bp
