"""After customers/redact and shop/redact, a scan of every table, Redis and the captured
logs finds none of the person's email, names, phone or address; access tokens at rest are
unreadable without ENCRYPTION_KEY."""
from __future__ import annotations

import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from rq import Queue, SimpleWorker
from sqlalchemy import select

from plugin.crypto import TokenCipher
from plugin.jobs.queue import QUEUE_NAME
from plugin.logs import JsonFormatter, TextFormatter
from plugin.loyalty.rules.program import dump_program
from plugin.models import Base, Shop, utcnow
from plugin.shopify.oauth import TokenSet
from plugin.shops.tokens import install_shop
from tests.reliability.history import chaos_program, generate, person
from tests.shopify_requests import post_webhook

SHOP_A, SHOP_B = "privacidad-a.myshopify.com", "privacidad-b.myshopify.com"


def install(app_state, domain: str, token: str) -> int:
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, domain,
                            TokenSet(access_token=token, scope="read_orders", expires_at=None), utcnow())
        shop.currency, shop.program = "USD", dump_program(chaos_program())
        return shop.id


def work(app_state) -> None:
    connection = app_state.queue.connection
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)


def everything_stored(app_state) -> str:
    """Every text and binary value in every table, every key and value in Redis."""
    chunks = []
    with app_state.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                chunks.append(json.dumps({k: v for k, v in row.items()}, default=lambda v: repr(v)))
    redis = app_state.queue.connection
    for key in redis.scan_iter():
        chunks.append(repr(key))
        kind = redis.type(key)
        if kind == b"string":
            chunks.append(repr(redis.get(key)))
        elif kind == b"hash":
            chunks.append(repr(redis.hgetall(key)))
        elif kind == b"list":
            chunks.append(repr(redis.lrange(key, 0, -1)))
        elif kind in (b"set", b"zset"):
            chunks.append(repr(redis.zrange(key, 0, -1) if kind == b"zset" else redis.smembers(key)))
    return "\n".join(chunks)


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    handlers = []
    for formatter in (JsonFormatter(), TextFormatter()):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logging.getLogger("embajador").addHandler(handler)
        handlers.append(handler)
    yield stream
    for handler in handlers:
        logging.getLogger("embajador").removeHandler(handler)


def history_of(app, domain: str, tag: str):
    """A customer with orders, refunds and checkouts, delivered as Shopify would."""
    history = generate(customers=2, orders_per_customer=2, seed=5, tag=tag)
    client = app.test_client()
    for event in history.events:
        assert post_webhook(client, event.topic, event.body(), shop=domain, event_id=event.event_id).status_code == 200
    return history


def test_redact_leaves_no_trace_of_the_person_in_tables_redis_or_logs(rq_app, captured_logs):
    app_state = rq_app.extensions["embajador"]
    install(app_state, SHOP_A, "shpat_privacy_a_0123456789")
    install(app_state, SHOP_B, "shpat_privacy_b_0123456789")
    history_of(rq_app, SHOP_A, "a")
    history_of(rq_app, SHOP_B, "b")
    work(app_state)
    redacted, kept = person(0, "a"), person(1, "a")
    assert redacted.email in everything_stored(app_state)  # the scan sees what is there

    client = rq_app.test_client()
    payload = {"shop_id": 1, "shop_domain": SHOP_A,
               "customer": {"id": redacted.shopify_id, "email": redacted.email, "phone": redacted.phone},
               "orders_to_redact": []}
    assert post_webhook(client, "customers/redact", json.dumps(payload).encode(), shop=SHOP_A).status_code == 200
    # As Shopify does it: the merchant uninstalls, shop/redact follows 48 h later.
    uninstalled = json.dumps({"id": 2, "domain": SHOP_B, "myshopify_domain": SHOP_B}).encode()
    assert post_webhook(client, "app/uninstalled", uninstalled, shop=SHOP_B).status_code == 200
    assert post_webhook(client, "shop/redact", json.dumps({"shop_id": 2, "shop_domain": SHOP_B}).encode(),
                        shop=SHOP_B).status_code == 200
    work(app_state)

    stored, logs = everything_stored(app_state), captured_logs.getvalue()
    gone = [*redacted.pii, *person(0, "b").pii, *person(1, "b").pii]
    assert [v for v in gone if v in stored] == []
    assert [v for v in gone if v in logs] == []
    assert kept.email in stored  # only the person asked for (and the redacted shop) went


def test_access_tokens_are_unreadable_without_the_encryption_key(app, app_state):
    install(app_state, SHOP_A, "shpat_secret_token_value_42")
    with app_state.db.transaction() as session:
        sealed = session.execute(select(Shop.access_token_enc)).scalar_one()
    assert b"shpat_secret_token_value_42" not in bytes(sealed)
    assert app_state.cipher.decrypt(sealed) == "shpat_secret_token_value_42"
    with pytest.raises(ValueError, match="ENCRYPTION_KEY"):
        TokenCipher((Fernet.generate_key().decode(),)).decrypt(sealed)
