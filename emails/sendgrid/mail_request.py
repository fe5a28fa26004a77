"""SendGrid v3 Mail Send request bodies, built with the SDK's helper classes
so the JSON shape is SendGrid's, not ours. No network here: the sender posts
the dicts these functions return.

Where things go, and why:
- ``custom_args`` (shop, flow, message_id) sit on each personalization: they
  come back on every Event Webhook event, so each recipient's events map to
  our message row. (The vendor's OpenAPI document also types the top-level
  ``custom_args`` as a string, so the object form only validates there.)
- ``List-Unsubscribe`` headers are per personalization too: one-click links
  are per recipient.
- Local templates vs SendGrid dynamic templates: with ``template_id`` set,
  SendGrid renders a Handlebars template stored in SendGrid from each
  recipient's ``dynamic_template_data`` (conditions per recipient work; copy is
  edited in SendGrid). Without it, we send our own rendered HTML/text and fill
  per-recipient values with ``substitutions`` (see render.render_batch_email;
  only display values can vary). A flow can be switched to a dynamic template
  by passing its template id in ``BatchTemplate.template_id``.
"""
from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sendgrid.helpers.mail import (
    Asm,
    Category,
    Content,
    CustomArg,
    From,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    SendAt,
    Subject,
    Substitution,
    TemplateId,
    To,
)

from emails.content.flows import get_flow

MAX_PERSONALIZATIONS = 1000
MAX_SCHEDULE_AHEAD = dt.timedelta(hours=72)
REQUIRED_CUSTOM_ARGS = ("shop", "flow", "message_id")


class MailRequestError(ValueError):
    """A message SendGrid would reject, or one that breaks our own rules."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One email to one recipient, already rendered (or with a template id)."""

    to_email: str
    from_email: str
    subject: str
    html: str | None
    text: str | None
    custom_args: Mapping[str, Any]
    to_name: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    categories: Sequence[str] = ()
    asm_group_id: int | None = None
    list_unsubscribe: str | None = None
    send_at: dt.datetime | None = None
    template_id: str | None = None
    dynamic_template_data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BatchTemplate:
    """What every recipient of one batched flow shares.

    Either ``subject``/``html``/``text`` with substitution tags (local
    templates) or ``template_id`` (SendGrid dynamic template)."""

    shop: str
    flow: str
    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    template_id: str | None = None
    categories: Sequence[str] = ()
    asm_group_id: int | None = None
    send_at: dt.datetime | None = None
    custom_args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    """One person in a batch, with what differs for them."""

    email: str
    message_id: str
    name: str | None = None
    substitutions: Mapping[str, str] = field(default_factory=dict)
    dynamic_template_data: Mapping[str, Any] = field(default_factory=dict)
    list_unsubscribe: str | None = None
    custom_args: Mapping[str, Any] = field(default_factory=dict)


def _checked_custom_args(args: Mapping[str, Any]) -> dict[str, str]:
    missing = [k for k in REQUIRED_CUSTOM_ARGS if not str(args.get(k) or "").strip()]
    if missing:
        raise MailRequestError(f"custom_args must include {', '.join(missing)} "
                               "(events are attributed and deduplicated with them)")
    get_flow(str(args["flow"]))
    return {str(k): str(v) for k, v in args.items() if v is not None}


def _send_at_timestamp(send_at: dt.datetime | None, now: dt.datetime | None) -> int | None:
    if send_at is None:
        return None
    if send_at.tzinfo is None:
        raise MailRequestError("send_at must be timezone-aware")
    now = now or dt.datetime.now(dt.UTC)
    if send_at - now > MAX_SCHEDULE_AHEAD:
        raise MailRequestError(f"send_at {send_at.isoformat()} is more than 72 hours ahead; "
                               "SendGrid rejects it (schedule the job later instead)")
    return int(send_at.timestamp())


def _check_unsubscribe(flow_name: str, asm_group_id: int | None, list_unsubscribe: str | None) -> None:
    if list_unsubscribe is not None and not list_unsubscribe.startswith("https://"):
        raise MailRequestError("list_unsubscribe must be an https URL (RFC 8058 one-click)")
    if get_flow(flow_name).marketing and asm_group_id is None and not list_unsubscribe:
        raise MailRequestError(f"{flow_name} is a marketing flow: it needs asm_group_id "
                               "or list_unsubscribe so the shopper can opt out")


def _unsubscribe_headers(url: str) -> list[Header]:
    return [Header("List-Unsubscribe", f"<{url}>"),
            Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]


def _base_mail(from_email: str, from_name: str | None, reply_to: str | None,
               subject: str | None, html: str | None, text: str | None,
               template_id: str | None, categories: Iterable[str],
               asm_group_id: int | None, send_at: int | None) -> Mail:
    if template_id is None and not (subject and (html or text)):
        raise MailRequestError("a message needs a subject and html or text, or a template_id")
    mail = Mail()
    mail.from_email = From(from_email, from_name)
    if reply_to:
        mail.reply_to = ReplyTo(reply_to)
    if subject:
        mail.subject = Subject(subject)
    if text:
        mail.add_content(Content("text/plain", text))
    if html:
        mail.add_content(Content("text/html", html))
    if template_id:
        mail.template_id = TemplateId(template_id)
    for name in reversed(list(dict.fromkeys(categories))):  # SDK prepends
        mail.add_category(Category(name))
    if asm_group_id is not None:
        mail.asm = Asm(int(asm_group_id))
    if send_at is not None:
        mail.send_at = SendAt(send_at)
    return mail


def _personalization(email: str, name: str | None, custom_args: Mapping[str, str],
                     list_unsubscribe: str | None, substitutions: Mapping[str, str],
                     dynamic_template_data: Mapping[str, Any] | None) -> Personalization:
    p = Personalization()
    p.add_to(To(email, name))
    for key, value in custom_args.items():
        p.add_custom_arg(CustomArg(key, value))
    if list_unsubscribe:
        for header in _unsubscribe_headers(list_unsubscribe):
            p.add_header(header)
    for key, value in substitutions.items():
        p.add_substitution(Substitution(key, str(value)))
    if dynamic_template_data:
        p.dynamic_template_data = dict(dynamic_template_data)
    return p


def build_single(message: OutgoingMessage, now: dt.datetime | None = None) -> dict:
    """The Mail Send body for one message. Raises MailRequestError when
    custom_args lack shop/flow/message_id, a marketing flow has no way to
    unsubscribe, or send_at is more than 72 h after ``now``."""
    args = _checked_custom_args(message.custom_args)
    _check_unsubscribe(args["flow"], message.asm_group_id, message.list_unsubscribe)
    mail = _base_mail(message.from_email, message.from_name, message.reply_to, message.subject,
                      message.html, message.text, message.template_id, message.categories,
                      message.asm_group_id, _send_at_timestamp(message.send_at, now))
    mail.add_personalization(_personalization(
        message.to_email, message.to_name, args, message.list_unsubscribe, {},
        message.dynamic_template_data))
    return mail.get()


T = TypeVar("T")


def unique_chunks(items: Iterable[T], size: int, key: Callable[[T], str]) -> Iterator[list[T]]:
    """Chunks of at most ``size`` with no key twice in a chunk; a repeated key
    waits for the next chunk. Lazy: holds one chunk plus the waiting repeats."""
    stream = iter(items)
    waiting: deque[T] = deque()
    while True:
        chunk: list[T] = []
        seen: set[str] = set()
        deferred: deque[T] = deque()
        while waiting and len(chunk) < size:
            item = waiting.popleft()
            if key(item) in seen:
                deferred.append(item)
            else:
                seen.add(key(item))
                chunk.append(item)
        while len(chunk) < size:
            item = next(stream, _END)
            if item is _END:
                break
            if key(item) in seen:
                deferred.append(item)
            else:
                seen.add(key(item))
                chunk.append(item)
        deferred.extend(waiting)
        waiting = deferred
        if not chunk:
            return
        yield chunk


_END: Any = object()


def _address_key(recipient: Recipient) -> str:
    return recipient.email.strip().lower()


def build_batches(template: BatchTemplate, recipients: Iterable[Recipient],
                  now: dt.datetime | None = None) -> Iterator[dict]:
    """Mail Send bodies for many recipients of one flow: at most 1,000
    personalizations each, every address at most once per request (a repeat
    goes to a later request), custom_args with each recipient's message_id.
    A generator: 100,000 recipients never sit in memory as request bodies."""
    shared = _checked_custom_args({**template.custom_args, "shop": template.shop,
                                   "flow": template.flow, "message_id": "-"})
    del shared["message_id"]
    send_at = _send_at_timestamp(template.send_at, now)
    for chunk in unique_chunks(recipients, MAX_PERSONALIZATIONS, _address_key):
        mail = _base_mail(template.from_email, template.from_name, template.reply_to,
                          template.subject, template.html, template.text, template.template_id,
                          template.categories, template.asm_group_id, send_at)
        message_ids: set[str] = set()
        for index, r in enumerate(chunk):
            if not r.message_id or r.message_id in message_ids:
                raise MailRequestError(f"recipient {index} needs its own message_id")
            message_ids.add(r.message_id)
            _check_unsubscribe(template.flow, template.asm_group_id, r.list_unsubscribe)
            args = {**{k: str(v) for k, v in r.custom_args.items()}, **shared,
                    "message_id": r.message_id}
            mail.add_personalization(
                _personalization(r.email, r.name, args, r.list_unsubscribe, r.substitutions,
                                 r.dynamic_template_data if template.template_id else None),
                index=index)
        yield mail.get()
