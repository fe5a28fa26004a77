"""Storing a verified delivery: dedupe on (shop, topic, event id) with a unique constraint."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from plugin.customers.profiles import email_hash
from plugin.models.base import UTCDateTime
from plugin.models.inbox import FAILED, IGNORED, PENDING
from plugin.shopify.webhook_subscriptions import COMPLIANCE_TOPICS
from plugin.web.json_limits import bounded_loads

SWEEP_AFTER = timedelta(minutes=2)


class MalformedPayload(ValueError):
    """The body verified but is not the JSON object this topic needs."""


@dataclass(frozen=True)
class Delivery:
    shop_domain: str
    topic: str
    raw_body: bytes
    event_id: str | None
    webhook_id: str | None
    api_version: str | None
    triggered_at: datetime | None


@dataclass(frozen=True)
class StoreResult:
    delivery_id: int | None
    created: bool
    status: str


def parse_payload(raw: str | bytes) -> dict:
    """Decimals stay Decimals and big ids stay ints: never a float near money or ids."""
    try:
        payload = bounded_loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"body is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("body is not a JSON object")
    return payload


def dedupe_key(delivery: Delivery) -> str:
    """Fits the column whatever the sender puts in the headers (long ids are hashed)."""
    for prefix, value in (("event", delivery.event_id), ("webhook", delivery.webhook_id)):
        if value:
            key = f"{prefix}:{value}"
            return key if len(key) <= 128 else f"{prefix}-sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(delivery.raw_body).hexdigest()


def subject_email_hash(payload: dict) -> str | None:
    """Hash of the email a payload is about: top-level ``email``/``contact_email`` (orders,
    checkouts — guests included) or ``customer.email``."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    for value in (payload.get("email"), payload.get("contact_email"), customer.get("email")):
        if isinstance(value, str) and value.strip():
            return email_hash(value)
    return None


def subject_customer_id(topic: str, payload: dict) -> str | None:
    """The Shopify customer a payload is about, so customers/redact can purge it later."""
    if topic.startswith("customers/") and topic not in COMPLIANCE_TOPICS:
        value = payload.get("id")
    else:
        value = (payload.get("customer") or {}).get("id") if isinstance(payload.get("customer"), dict) else None
    return str(value) if isinstance(value, int) else None


class _CustomerRef(msgspec.Struct):
    id: Any = None
    email: Any = None


class _SubjectFields(msgspec.Struct):
    """The only top-level fields ingress needs from a body; every other field is skipped in C."""
    id: Any = None
    email: Any = None
    contact_email: Any = None
    customer: _CustomerRef | None = None


_SUBJECT_DECODER = msgspec.json.Decoder(_SubjectFields)


def subject_of(topic: str, raw: bytes) -> tuple[str | None, str | None]:
    """(subject customer id, subject email hash) of a verified body, before it is stored, so
    ``customers/redact`` finds the row whatever happens to it later.

    The fast path decodes only the fields above (msgspec skips the rest of the 12 kB order
    without building it: ~10 µs instead of ~300 µs for a full parse with the depth check);
    the body is still checked to be JSON there. Anything the typed decode refuses (not an
    object, a ``customer`` that is not an object, a huge integer, NaN…) takes the full parse,
    which either finds the same fields or raises ``MalformedPayload``. The worker parses the
    whole body (with the nesting bound) when it runs the topic handler.
    https://jcristharif.com/msgspec/structs.html (unknown fields are ignored by default)
    """
    try:
        fields = _SUBJECT_DECODER.decode(raw)
    except msgspec.MsgspecError:
        payload = parse_payload(raw)
    else:
        customer = fields.customer
        payload = {"id": fields.id, "email": fields.email, "contact_email": fields.contact_email,
                   "customer": {"id": customer.id, "email": customer.email} if customer is not None else None}
    return subject_customer_id(topic, payload), subject_email_hash(payload)


_COLUMNS = ("shop_domain, shop_id, topic, dedupe_key, event_id, webhook_id, api_version, triggered_at, received_at,"
            " payload, subject_customer_id, subject_email_hash, status, attempts, last_error, next_attempt_at,"
            " processed_at")
_DATETIMES = ("triggered_at", "received_at", "next_attempt_at", "processed_at")
# text() statements are compiled once and cached (a dialect insert() with ON CONFLICT
# is recompiled on every call: ~17 % of ingress CPU when it was used here).
_FIND_SHOP = text("SELECT id, installed FROM shops WHERE domain = :shop_domain")
_INSERT_ONCE = text(
    f"INSERT INTO webhook_deliveries ({_COLUMNS}) VALUES (:shop_domain, :shop_id, :topic, :dedupe_key, :event_id,"
    " :webhook_id, :api_version, :triggered_at, :received_at, :payload, :subject_customer_id, :subject_email_hash,"
    " :status, 0, :last_error,"
    " :next_attempt_at, :processed_at) ON CONFLICT (shop_domain, topic, dedupe_key) DO NOTHING RETURNING id, status"
).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in _DATETIMES))
# PostgreSQL, the group commit (webhooks/group_commit.py): the shop lookup and the
# ignored/pending decision happen inside the INSERT of n rows, one round trip for the group. The
# shop row is read in the statement's own snapshot, so an uninstall is never seen later than
# with a separate SELECT (there is no cache to go stale). Sent on the raw psycopg connection,
# prepared once per connection and group size: SQLAlchemy's execution layer cost more CPU than
# the statement itself here. https://www.psycopg.org/psycopg3/docs/advanced/prepare.html
# Rows are sent sorted by key, and the LATERAL shop lookup is a nested loop over VALUES, so two
# processes writing overlapping keys (a retry racing its original) take the unique-index locks
# in the same order; should they still deadlock, PostgreSQL aborts one statement and that
# group's requests answer 500, which Shopify retries. RETURNING names each new row by its key.
_GROUP_FIELDS = ("shop_domain", "topic", "dedupe_key", "event_id", "webhook_id", "api_version", "triggered_at",
                 "received_at", "payload", "subject_customer_id", "subject_email_hash", "next_attempt_at",
                 "compliance")
_GROUP_TYPES = ("text", "text", "text", "text", "text", "text", "timestamptz", "timestamptz", "text", "text", "text",
                "timestamptz", "boolean")
_GROUP_INSERTS: dict[int, str] = {}


def _group_insert(n: int) -> str:
    """The statement for ``n`` rows, with PostgreSQL's own ``$k`` placeholders: it is sent
    through a ``RawCursor``, which passes the text as is. The ``%s`` form is parsed again on
    every execute once a statement has more than 50 parameters (13 per row: groups of 4 and
    more), which psycopg does not cache (psycopg/_queries.py MAX_CACHED_STATEMENT_PARAMS):
    4 % of a delivery's CPU under load.
    https://www.psycopg.org/psycopg3/docs/advanced/cursors.html#raw-query-cursors"""
    statement = _GROUP_INSERTS.get(n)
    if statement is None:
        width = len(_GROUP_FIELDS)
        first = "(" + ", ".join(f"${k + 1}::{t}" for k, t in enumerate(_GROUP_TYPES)) + ")"
        rows = ", ".join([first] + ["(" + ", ".join(f"${r * width + k + 1}" for k in range(width)) + ")"
                                    for r in range(1, n)])
        statement = _GROUP_INSERTS[n] = (
            f"INSERT INTO webhook_deliveries ({_COLUMNS})"
            " SELECT d.shop_domain, d.shop_id, d.topic, d.dedupe_key, d.event_id, d.webhook_id, d.api_version,"
            " d.triggered_at, d.received_at, d.payload, d.subject_customer_id, d.subject_email_hash,"
            " d.status, 0, d.last_error,"
            " CASE WHEN d.status = 'pending' THEN d.next_attempt_at END,"
            " CASE WHEN d.status = 'pending' THEN NULL ELSE d.received_at END"
            " FROM (SELECT v.*, s.id AS shop_id,"
            "   CASE WHEN s.id IS NULL OR NOT (s.installed OR v.compliance) THEN 'ignored' ELSE 'pending' END AS status,"
            "   CASE WHEN s.id IS NULL THEN 'unknown shop'"
            "        WHEN NOT (s.installed OR v.compliance) THEN 'shop is uninstalled' END AS last_error"
            f"  FROM (VALUES {rows}) AS v({', '.join(_GROUP_FIELDS)})"
            "  LEFT JOIN LATERAL (SELECT id, installed FROM shops WHERE domain = v.shop_domain) AS s ON true) AS d"
            " ON CONFLICT (shop_domain, topic, dedupe_key) DO NOTHING"
            " RETURNING id, status, shop_domain, topic, dedupe_key")
    return statement


def group_row(delivery: Delivery, now: datetime) -> dict | None:
    """A delivery's parameters for ``insert_group_pg``; None when the body alone makes the row
    FAILED (stored by ``store_delivery``, the general path)."""
    values, status, _error = delivery_values(delivery, now)
    if status != PENDING:
        return None
    values["compliance"] = delivery.topic in COMPLIANCE_TOPICS
    return values


def insert_group_pg(dbapi_connection, rows: list[dict]) -> list[StoreResult]:
    """Store ``rows`` (from ``group_row``) with one prepared statement on a raw psycopg
    connection in autocommit: all of them committed when it returns, or none (one statement).
    Returns each row's result in order. A key that appears twice in the group is sent once;
    its later copies are answered ``duplicate``, as they would be one after the other.
    https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT"""
    keys = [(row["shop_domain"], row["topic"], row["dedupe_key"]) for row in rows]
    unique = sorted(set(keys))
    by_key: dict[tuple, dict] = {}
    for key, row in zip(keys, rows, strict=True):
        by_key.setdefault(key, row)  # the first copy is the one stored and answered created
    params = [by_key[key][name] for key in unique for name in _GROUP_FIELDS]
    with psycopg.RawCursor(dbapi_connection) as cursor:
        cursor.execute(_group_insert(len(unique)), params, prepare=True)
        created = {(domain, topic, key): (row_id, status) for row_id, status, domain, topic, key in cursor.fetchall()}
    results, answered = [], set()
    for key in keys:
        if key in created and key not in answered:
            answered.add(key)
            row_id, status = created[key]
            results.append(StoreResult(delivery_id=row_id, created=True, status=status))
        else:
            results.append(StoreResult(delivery_id=None, created=False, status="duplicate"))
    return results


def delivery_values(delivery: Delivery, now: datetime) -> tuple[dict, str, str | None]:
    """The row's values, and its status and error when the body alone decides them (FAILED)."""
    status, error, customer_id, email_digest = PENDING, None, None, None
    try:
        body: str | None = delivery.raw_body.decode("utf-8")
        customer_id, email_digest = subject_of(delivery.topic, delivery.raw_body)
    except UnicodeDecodeError:
        body, status, error = None, FAILED, "body is not UTF-8"
    except MalformedPayload as exc:
        status, error = FAILED, str(exc)
    if body is not None and "\x00" in body:  # never valid JSON; PostgreSQL text cannot hold it
        body = body.replace("\x00", "\ufffd")
    values = dict(shop_domain=delivery.shop_domain, topic=delivery.topic, dedupe_key=dedupe_key(delivery),
                  event_id=delivery.event_id, webhook_id=delivery.webhook_id, api_version=delivery.api_version,
                  triggered_at=delivery.triggered_at, received_at=now, payload=body,
                  subject_customer_id=customer_id, subject_email_hash=email_digest,
                  next_attempt_at=now + SWEEP_AFTER)
    return values, status, error


def store_delivery(conn: Connection, delivery: Delivery, now: datetime) -> StoreResult:
    """Insert the delivery once; a duplicate returns created=False and changes nothing.

    ``conn`` is a Core connection (no ORM session): SQLite (the demo), and on PostgreSQL the
    deliveries whose body is not JSON (stored FAILED, never processed). Two statements: run
    it in a transaction, or on SQLite, whose writers are serialised anyway.
    """
    values, status, error = delivery_values(delivery, now)
    shop = conn.execute(_FIND_SHOP, values).first()
    if status == PENDING and _ignored(shop, delivery.topic):
        status, error = IGNORED, "unknown shop" if shop is None else "shop is uninstalled"
    row = conn.execute(_INSERT_ONCE, dict(
        values, shop_id=shop.id if shop else None, status=status, last_error=error,
        next_attempt_at=values["next_attempt_at"] if status == PENDING else None,
        processed_at=None if status == PENDING else now)).first()
    if row is None:
        return StoreResult(delivery_id=None, created=False, status="duplicate")
    return StoreResult(delivery_id=row.id, created=True, status=row.status)


def _ignored(shop, topic: str) -> bool:
    if shop is None:
        return True
    return not shop.installed and topic not in COMPLIANCE_TOPICS
