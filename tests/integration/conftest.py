"""Helpers and fixtures every integration test folder shares: a registered shop, session tokens
for the admin API, a burst RQ worker, and Shopify's Admin API answered by the demo's fake."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
import responses
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry

from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.jobs.queue import QUEUE_NAME
from plugin.models import utcnow
from plugin.shopify.oauth import TokenSet
from plugin.shops.tokens import install_shop
from tests.conftest import API_KEY, API_SECRET
from tests.shopify_requests import SHOP

ADMIN_ORIGIN = "https://admin.shopify.test"


def add_shop(app_state, domain=SHOP, installed=True, currency="USD"):
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, domain,
                            TokenSet(access_token="shpat_test", scope="read_orders", expires_at=None), utcnow())
        shop.installed = installed
        shop.currency = currency
        return shop.id


def session_token(shop=SHOP, secret=API_SECRET, aud=API_KEY, exp_in=60, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": aud, "sub": "42",
              "exp": now + exp_in, "nbf": now - 5, "iat": now - 5, "jti": str(uuid.uuid4()), "sid": uuid.uuid4().hex}
    claims.update(overrides)
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def run_worker(app_state) -> None:
    connection = app_state.queue.connection
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)


def run_scheduled_jobs_now(app_state) -> list[str]:
    """Move every scheduled job (e.g. a metafield sync, 2 s after its change) to the queue, as
    RQ's scheduler does when its time comes, and run the queue; returns the jobs' ids."""
    connection = app_state.queue.connection
    queue = Queue(QUEUE_NAME, connection=connection)
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_job_ids()
    for job_id in ids:
        job = queue.fetch_job(job_id)
        registry.remove(job_id)
        if job is not None:
            queue.enqueue_job(job)
    SimpleWorker([queue], connection=connection).work(burst=True)
    return ids


@pytest.fixture
def fake_admin():
    """Shopify's Admin API answered by the fake, for every shop, through ``responses``."""
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    fake.issue_token(SHOP)
    fake.tokens["shpat_test"] = SHOP
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_into_responses(fake, rsps, ADMIN_ORIGIN)
        yield fake
