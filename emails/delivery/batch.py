"""Sending one flow to many recipients: render once with substitution tags, then up to
1,000 personalizations per Mail Send request (build_batches), posted by the one sender.

Which recipients can share one rendering (a *template variant*): the same flow and render
locale, the same value for every key that is not a per-recipient display value, and the
same *shape* for each per-recipient value — empty or not (templates branch on
``{% if customer_first_name %}``, ``{% if next_tier_name %}``, ``{% if birthday_code %}``),
and exactly 0 or 1 or more for counts (``plural``). Values whose shape fixes them (None,
0, 1) are rendered in; only the others become SendGrid substitution tags.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emails.content.render import recipient_substitutions, render_batch_email
from emails.content.stored_context import encode_context
from emails.sendgrid.client import SendGridSender, SendResult
from emails.sendgrid.mail_request import BatchTemplate, Recipient, build_batches

# Flows that go to many customers at once (a tick, not a shopper's action, starts them).
BATCHABLE_FLOWS = frozenset({"birthday", "expiry_warning", "expiry_last_chance", "win_back"})
# Display-only values (printed, tested for emptiness or compared with 1, never branched on
# by value): they may differ inside one request.
PER_RECIPIENT_KEYS = frozenset({
    "customer_first_name", "points_balance", "tier_name", "next_tier_name", "next_tier_remaining",
    "tier_progress_percent", "unsubscribe_url", "expiring_points", "expires_on", "birthday_points",
    "birthday_code", "birthday_discount", "discount_code", "discount", "code_expires_on"})


def _shape(value: Any) -> str | None:
    """None when the value itself must be shared (its shape pins it), else its shape."""
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return None
    return "n" if isinstance(value, int) else "s"


def substituted_keys(context: Mapping[str, Any]) -> list[str]:
    """The per-recipient keys that become substitution tags for this context."""
    return sorted(k for k in PER_RECIPIENT_KEYS if k in context and _shape(context[k]) is not None)


def variant_key(flow: str, render_locale: str, context: Mapping[str, Any]) -> str:
    """32-hex key shared by every context that renders identically up to substitutions."""
    tagged = set(substituted_keys(context))
    fixed = {k: v for k, v in context.items() if k not in tagged}
    stored = encode_context(render_locale, fixed)
    document = json.dumps({"flow": flow, "tagged": sorted(tagged), "fixed": stored and stored["values"],
                           "locale": render_locale, "opaque": stored is None}, sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class BatchReport:
    requests: int
    recipients: int
    results: tuple[SendResult, ...]


def batch_template(flow: str, locale: str, shared: Mapping, per_recipient: list[str], **sender) -> BatchTemplate:
    rendered = render_batch_email(flow, locale, shared, per_recipient)
    return BatchTemplate(flow=flow, subject=rendered.subject, html=rendered.html, text=rendered.text, **sender)


def recipients_for(rows: Iterable[tuple[str, str, Mapping]], locale: str) -> Iterable[Recipient]:
    """(email, message_id, per-recipient values) → Recipients with their substitutions."""
    for email, message_id, values in rows:
        yield Recipient(email=email, message_id=message_id, substitutions=recipient_substitutions(values, locale))


def send_batch(sender: SendGridSender, template: BatchTemplate, recipients: Iterable[Recipient]) -> BatchReport:
    """Post every batch; lazy end to end, so memory stays at one request body."""
    results, count = [], 0
    for body in build_batches(template, recipients):
        count += len(body["personalizations"])
        results.append(sender.post(body))
    return BatchReport(len(results), count, tuple(results))
