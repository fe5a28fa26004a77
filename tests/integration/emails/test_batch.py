"""Batch flows: many recipients, ≤ 1,000 personalizations per schema-valid request."""
from __future__ import annotations

from emails.delivery.batch import batch_template, recipients_for, send_batch
from emails.sendgrid.client import SendGridSender
from tests.integration.emails.conftest import validate_all


def test_2500_birthdays_go_in_three_schema_valid_requests(sink, mail_send_validator):
    template = batch_template(
        "birthday", "es-CL",
        {"shop_name": "Tienda", "shop_url": "https://t.myshopify.com", "tier_name": "Plata", "next_tier_name": None,
         "unsubscribe_url": "<%asm_group_unsubscribe_raw_url%>", "birthday_points": 200},
        ["customer_first_name", "points_balance"], shop="t.myshopify.com", from_email="p@t.test",
        asm_group_id=7, categories=["embajador", "marketing", "birthday"])
    rows = ((f"c{i}@example.com", f"m{i}", {"customer_first_name": f"C{i}", "points_balance": 1000 + i})
            for i in range(2500))
    report = send_batch(SendGridSender("SG.k", sink.url), template, recipients_for(rows, "es-CL"))
    assert (report.requests, report.recipients) == (3, 2500)
    assert all(r.outcome == "sent" for r in report.results)
    validate_all(sink, mail_send_validator)
    first = sink.requests[0]["body"]["personalizations"]
    assert len(first) == 1000 and first[5]["substitutions"]["-points_balance-"] == "1.005"
    assert first[5]["custom_args"] == {"shop": "t.myshopify.com", "flow": "birthday", "message_id": "m5"}
