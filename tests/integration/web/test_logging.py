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
        post_webhook(client, "customers/create", fixture_body("customers__create.json"))
    finally:
        detach()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "no log lines were written"
    assert {line["msg"] for line in lines} >= {"webhook stored", "webhook processed"}
    assert all(line["shop"] == SHOP and isinstance(line["delivery_id"], int) for line in lines)
    text = stream.getvalue()
    for personal in ("bob@biller.com", "Biller", "555-555-5555", "O'Connor", "shpat_test", "test-api-secret"):
        assert personal not in text
