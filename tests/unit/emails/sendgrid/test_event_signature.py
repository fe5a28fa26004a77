"""SendGrid Event Webhook: only signed bodies count, and every event type is read."""
import json
from pathlib import Path

import pytest

from emails.sendgrid.event_signature import EventPayloadError, parse_events, verify_event_signature

FIXTURES = Path("/work/shared/fixtures/sendgrid")
VECTOR = json.loads((FIXTURES / "event_webhook_vector.json").read_text())


@pytest.mark.parametrize("case", VECTOR["cases"], ids=[c["name"] for c in VECTOR["cases"]])
def test_signature_vectors(case):
    ok = verify_event_signature(case["public_key_base64_der"], case["raw_body"].encode("utf-8"),
                                case["signature_base64_der"], case["timestamp"])
    assert ok is case["expected_valid"]


def test_the_valid_vector_verifies_from_the_headers():
    headers = VECTOR["headers"]
    assert verify_event_signature(VECTOR["public_key_base64_der"], VECTOR["raw_body"].encode(),
                                  headers["X-Twilio-Email-Event-Webhook-Signature"],
                                  headers["X-Twilio-Email-Event-Webhook-Timestamp"]) is True


@pytest.mark.parametrize("key,body,sig,ts", [
    (VECTOR["public_key_base64_der"], VECTOR["raw_body"].encode(), None, VECTOR["timestamp"]),
    (VECTOR["public_key_base64_der"], VECTOR["raw_body"].encode(), VECTOR["signature_base64_der"], None),
    (VECTOR["public_key_base64_der"], VECTOR["raw_body"].encode(), "%%%not-base64%%%", VECTOR["timestamp"]),
    (VECTOR["public_key_base64_der"], VECTOR["raw_body"].encode(), "QUJD", VECTOR["timestamp"]),
    ("not a key", VECTOR["raw_body"].encode(), VECTOR["signature_base64_der"], VECTOR["timestamp"]),
    ("", VECTOR["raw_body"].encode(), VECTOR["signature_base64_der"], VECTOR["timestamp"]),
    (VECTOR["public_key_base64_der"], b"\xff\xfe", VECTOR["signature_base64_der"], VECTOR["timestamp"]),
])
def test_malformed_input_is_rejected_without_raising(key, body, sig, ts):
    assert verify_event_signature(key, body, sig, ts) is False


def test_parse_every_event_type_in_the_example():
    body = (FIXTURES / "events_example.json").read_bytes()
    events = parse_events(body)
    assert [e.type for e in events] == ["processed", "deferred", "delivered", "open", "click", "bounce",
                                        "dropped", "spamreport", "unsubscribe", "group_unsubscribe",
                                        "group_resubscribe"]
    by_type = {e.type: e for e in events}
    assert all(e.email == "example@test.com" and e.timestamp == 1513299569 for e in events)
    assert by_type["bounce"].reason == "500 unknown recipient"
    assert by_type["dropped"].reason == "Bounced Address"
    assert by_type["group_unsubscribe"].asm_group_id == 10
    assert by_type["click"].url == "http://www.sendgrid.com/"
    assert by_type["delivered"].asm_group_id is None and by_type["delivered"].bounce_type is None


def test_bounce_vs_blocked():
    examples = json.loads((FIXTURES / "events_examples_by_type.json").read_text())
    assert parse_events(json.dumps(examples["bounce"]))[0].bounce_type == "bounce"
    assert parse_events(json.dumps(examples["blocked"]))[0].bounce_type == "blocked"
    for items in examples.values():
        assert parse_events(json.dumps(items))[0].sg_event_id


def test_our_custom_args_come_back_for_attribution():
    body = json.dumps([{"email": "ana@example.com", "event": "open", "timestamp": 1700000000,
                        "sg_event_id": "ev1", "sg_message_id": "sg1", "shop": "cafe.myshopify.com",
                        "flow": "win_back", "message_id": "msg_01HZX"}]).encode()
    [event] = parse_events(body)
    assert (event.shop, event.flow, event.message_id) == ("cafe.myshopify.com", "win_back", "msg_01HZX")


@pytest.mark.parametrize("body", [b"not json", b'{"event": "open"}', b"[1, 2]"])
def test_bad_bodies_raise_a_clear_error(body):
    with pytest.raises(EventPayloadError):
        parse_events(body)
