"""The deployed shape: a signed webhook posted to gunicorn is processed by a separate RQ worker."""
from __future__ import annotations

import requests
from sqlalchemy import select

from plugin import create_app
from plugin.models import Customer, WebhookDelivery
from tests.conftest import base_env
from tests.e2e.processes import gunicorn, rq_worker, wait_until
from tests.integration.conftest import add_shop
from tests.shopify_requests import fixture_body, webhook_headers


def test_customers_create_through_gunicorn_and_rq_worker_becomes_a_customer(migrated, pg_url, redis_url, tmp_path):
    env = base_env(pg_url, REDIS_URL=redis_url)
    app = create_app(env)
    app_state = app.extensions["embajador"]
    from tests.conftest import _truncate_all
    _truncate_all(app_state.db)
    app_state.queue.connection.flushdb()
    add_shop(app_state)
    body = fixture_body("customers__create.json")

    with gunicorn(env, tmp_path) as base, rq_worker(env, tmp_path):
        response = requests.post(f"{base}/webhooks", data=body, headers=webhook_headers(body, "customers/create"),
                                 timeout=5)
        assert response.status_code == 200
        forged = requests.post(f"{base}/webhooks", data=body,
                               headers=webhook_headers(body, "customers/create", secret="forged"), timeout=5)
        assert forged.status_code == 401

        def customer_email():
            with app_state.db.transaction() as session:
                return session.execute(select(Customer.email)).scalar_one_or_none()
        assert wait_until(customer_email, what="the worker to create the customer") == "bob@biller.com"
    with app_state.db.transaction() as session:
        assert session.execute(select(WebhookDelivery.status)).scalars().all() == ["processed"]
    app_state.db.dispose()
