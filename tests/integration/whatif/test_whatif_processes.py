"""What-if split across processes (WHATIF_PROCESSES): the same report as one process, from the
RQ job in a real forked work horse and from the CLI; a part that fails fails the run."""
from __future__ import annotations

import json
import os

import pytest
from rq import Queue, Worker
from sqlalchemy import text

from plugin.jobs.queue import QUEUE_NAME
from plugin.loyalty.rules.program import load_program
from plugin.models import Shop, utcnow
from plugin.whatif import history
from plugin.whatif.history import compare_programs, customer_ranges
from plugin.whatif.parallel import WhatifWorkerFailed
from tests.conftest import rq_app_with
from tests.integration.admin.admin_support import auth
from tests.integration.whatif.test_whatif import DRAFT, check_report, seed
from tests.shopify_requests import SHOP

# 400 customers over 3,000 orders (every 13th a guest, every 40th partly refunded), a signup for
# each, and 60 customers with a signup only: the draft moves well over the 100 listed customers.
HISTORY = """
INSERT INTO customers (shop_id, shopify_id, email, marketing_state, points_available, points_pending, created_at,
                       updated_at)
SELECT :shop, (5000 + n)::text, 'c' || n || '@example.com', 'SUBSCRIBED', 0, 0, now(), now()
FROM generate_series(1, 460) AS n;
INSERT INTO orders (shop_id, order_id, customer_shopify_id, placed_at, total, current_total, currency,
                    financial_status, cancelled, source_name, source, created_at, updated_at)
SELECT :shop, (100000 + n)::text, CASE WHEN n % 13 = 0 THEN NULL ELSE (5001 + (n * 7919) % 400)::text END,
       timestamptz '2025-01-01' + ((n * 104729) % (600 * 24)) * interval '1 hour',
       (5 + (n * 13) % 30)::numeric, (5 + (n * 13) % 30 - CASE WHEN n % 40 = 0 THEN 5 ELSE 0 END)::numeric,
       'USD', CASE WHEN n % 40 = 0 THEN 'partially_refunded' ELSE 'paid' END, false, 'web', 'webhook', now(), now()
FROM generate_series(1, 3000) AS n;
INSERT INTO ledger_entries (shop_id, customer_id, key, kind, available, pending, reason, source, occurred_at,
                            created_at)
SELECT :shop, c.id, format('customer:%s:action:signup:once', c.id), 'action', 10, 0, 'test', 'test',
       timestamptz '2025-01-01' + (c.id % 300) * interval '1 day', now()
FROM customers c WHERE c.shop_id = :shop AND c.shopify_id::bigint > 5000
"""


def generated_history(app_state) -> int:
    shop_id = seed(app_state)
    with app_state.db.transaction() as session:
        for statement in HISTORY.split(";\n"):
            session.execute(text(statement), {"shop": shop_id})
    return shop_id


def test_three_processes_give_exactly_the_report_of_one(app):
    app_state = app.extensions["embajador"]
    shop_id = generated_history(app_state)
    draft, now = load_program(DRAFT), utcnow()
    progress: list[tuple[int, int]] = []
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        assert len(customer_ranges(session, shop_id, 2774, 3)) == 3
        alone = compare_programs(session, shop, draft, now)
        split = compare_programs(session, shop, draft, now, processes=3,
                                 on_progress=lambda done, total: progress.append((done, total)))
    assert split == alone
    assert alone["customers"] == 462 and alone["orders"] == 2774  # 3,000 less 230 guests, and 4 of seed()
    assert alone["tier_changes"]["count"] > 100 and len(alone["tier_changes"]["customers"]) == 100
    assert progress[0] == (0, 2774) and progress[-1] == (2774, 2774)


def _run_in_a_forking_worker(app) -> dict:
    """Start a what-if through the admin API, let a real (forking) RQ worker run it, read the run."""
    app_state = app.extensions["embajador"]
    seed(app_state)
    client = app.test_client()
    run_id = client.post("/api/whatif", json={"program": DRAFT}, headers=auth()).get_json()["id"]
    connection = app_state.queue.connection
    Worker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)  # forks
    return client.get(f"/api/whatif/{run_id}", headers=auth()).get_json()


def test_the_job_in_a_forked_work_horse_splits_the_run(migrated, pg_url, redis_url):
    with rq_app_with(pg_url, redis_url, WHATIF_PROCESSES="2") as app:
        finished = _run_in_a_forking_worker(app)
        assert (finished["status"], finished["done"], finished["total"]) == ("done", 4, 4)
        check_report(finished["report"])


def test_the_cli_takes_a_number_of_processes(app, tmp_path):
    seed(app.extensions["embajador"])
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DRAFT))
    result = app.test_cli_runner().invoke(args=["embajador", "program", "whatif", "--shop", SHOP,
                                                "--processes", "2", "--json", str(draft)])
    assert result.exit_code == 0, result.output
    check_report(json.loads(result.output))


def _failing_on_1001(fail):
    """The replay, failing on customer 1001 (the only one of ``seed`` with a signup)."""
    real = history.simulate_customer

    def simulate(program, records, now, zone, pricer=None):
        if any(getattr(r, "kind", None) == "signup" for r in records):
            fail()
        return real(program, records, now, zone, pricer)
    return simulate


def test_a_part_that_raises_fails_the_run_with_a_clear_error(migrated, pg_url, redis_url, monkeypatch):
    def boom():
        raise ArithmeticError("a customer's data")
    monkeypatch.setattr(history, "simulate_customer", _failing_on_1001(boom))  # inherited by the forks
    with rq_app_with(pg_url, redis_url, WHATIF_PROCESSES="2") as app:
        failed = _run_in_a_forking_worker(app)
        assert (failed["status"], failed["error"], failed["report"]) == ("failed", "WhatifWorkerFailed", None)


def test_a_part_that_dies_fails_the_run(app, monkeypatch):
    monkeypatch.setattr(history, "simulate_customer", _failing_on_1001(lambda: os._exit(3)))
    app_state = app.extensions["embajador"]
    shop_id = seed(app_state)
    with app_state.db.transaction() as session, \
            pytest.raises(WhatifWorkerFailed, match=r"part 1 of 2 ended without an answer \(exit code 3\)"):
        compare_programs(session, session.get(Shop, shop_id), load_program(DRAFT), utcnow(), processes=2)
