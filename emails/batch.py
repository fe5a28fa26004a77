"""Sending one flow to many recipients: render once with substitution tags, then up to
1,000 personalizations per Mail Send request (build_batches), posted by the one sender."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from .mail_request import BatchTemplate, Recipient, build_batches
from .render import recipient_substitutions, render_batch_email
from .sender import SendGridSender, SendResult


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
