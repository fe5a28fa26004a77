"""Operators read JSON log lines with shop and delivery id — and never a shopper's data."""
from __future__ import annotations

import io
import json
import logging

from plugin.logs import JsonFormatter
from tests.integration.conftest import add_shop
from tests.shopify_requests import SHOP, fixture_body, post_webhook


def capture_json_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("embajador")
    logger.addHandler(handler)
    return stream, lambda: logger.removeHandler(handler)


def test_webhook_logs_are_json_lines_with_shop_and_delivery_but_no_pii(client, app_state):
    add_shop(app_state)
    stream, detach = capture_json_logs()
    try:
        post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="evt-1")
        post_webhook(client, "customers/create", fixture_body("customers__create.json"), event_id="evt-1")
    finally:
        detach()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "no log lines were written"
    # One line per delivery: the worker's for the one it ran, the ingress's for the duplicate.
    assert [(line["msg"], line["status"]) for line in lines] == [("webhook processed", "processed"),
                                                                ("webhook stored", "duplicate")]
    assert all(line["shop"] == SHOP and line["topic"] == "customers/create" for line in lines)
    assert isinstance(lines[0]["delivery_id"], int)
    text = stream.getvalue()
    for personal in ("bob@biller.com", "Biller", "555-555-5555", "O'Connor", "shpat_test", "test-api-secret"):
        assert personal not in text


def test_a_line_with_a_lone_surrogate_or_an_odd_value_is_still_one_json_object():
    """json.loads accepts "\\ud800" in a payload, so a handler's error can carry one; the line
    must still be written (as JSON), and a value of another type is written as its str()."""
    import dataclasses

    @dataclasses.dataclass
    class Token:
        secret: str

        def __str__(self) -> str:
            return "Token(…)"

    formatter = JsonFormatter()
    surrogate = logging.LogRecord("embajador.x", logging.ERROR, __file__, 1, "failed: %s", ("bad \udc80",), None)
    assert json.loads(formatter.format(surrogate))["msg"] == "failed: bad \udc80"
    odd = logging.LogRecord("embajador.x", logging.INFO, __file__, 1, "stored", (), None)
    odd.status = Token("shpat_secret")
    line = formatter.format(odd)
    assert json.loads(line)["status"] == "Token(…)" and "shpat_secret" not in line
