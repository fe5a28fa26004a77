"""POST /webhooks under concurrency: deliveries that arrive together share one INSERT and one
Redis pipeline (webhooks/group_commit.py), yet each request gets its own answer, and a group
is stored whole or not at all."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import create_engine, select, text

from plugin.models import WebhookDelivery
from tests.integration.conftest import add_shop
from tests.shopify_requests import fixture_body, webhook_headers
from webhooks import ingress

BODY = fixture_body("orders__paid.json")
OTHER_SHOP = "never-installed.myshopify.com"


def rows(app_state):
    with app_state.db.transaction() as session:
        return {d.dedupe_key: d for d in session.execute(select(WebhookDelivery)).scalars()}


def queued_job_ids(app_state) -> list[str]:
    return [job_id.decode() for job_id in app_state.queue.connection.lrange(app_state.queue.queue.key, 0, -1)]


def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    """Wait for a state the other threads reach (not for a guessed duration)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.005)


class HeldGroups:
    """Holds the committer's first group inside its write until released, so the requests sent
    meanwhile queue up and are written together as the next group; records each group's size.
    ``before_write(n)`` runs before the n-th group (from 0) is written."""

    def __init__(self, app, app_state, monkeypatch, before_write=None):
        self.committer = ingress._committer(app, app_state)
        self.entered, self.release = threading.Event(), threading.Event()
        self.sizes: list[int] = []
        real_write, committer = self.committer._write, self.committer

        def write(group_rows):
            self.sizes.append(len(group_rows))
            if len(self.sizes) == 1:
                self.entered.set()
                assert self.release.wait(10), "the test never released the first group"
            if before_write is not None:
                before_write(len(self.sizes) - 1, committer)
            return real_write(group_rows)
        monkeypatch.setattr(self.committer, "_write", write)

    def waiting(self) -> int:
        with self.committer._lock:
            return len(self.committer._waiting)


def post(app, topic: str, event_id: str, shop: str):
    """One request on its own test client (one per thread, like gunicorn's request threads)."""
    response = app.test_client().post("/webhooks", data=BODY,
                                      headers=webhook_headers(BODY, topic, shop=shop, event_id=event_id))
    return response.status_code, response.get_json(silent=True)


# (topic, event id, shop): a new order, another new order, a delivery for a shop we do not
# know (stored ignored, no job), and Shopify's second attempt at the second order.
GROUP = [("orders/paid", "evt-b", "SHOP"), ("orders/paid", "evt-c", "SHOP"),
         ("orders/paid", "evt-d", OTHER_SHOP), ("orders/paid", "evt-c", "SHOP")]


def send_held_group(app, shop: str, held: HeldGroups):
    """Request A leads alone and is held; the GROUP requests queue behind it; then release.
    Returns A's answer and the GROUP's answers in order."""
    with ThreadPoolExecutor(1 + len(GROUP)) as pool:
        first = pool.submit(post, app, "orders/paid", "evt-a", shop)
        assert held.entered.wait(10)
        group = [pool.submit(post, app, topic, event_id, shop if s == "SHOP" else s) for topic, event_id, s in GROUP]
        wait_for(lambda: held.waiting() == len(GROUP), "the group's requests to queue behind the leader")
        held.release.set()
        return first.result(timeout=30), [f.result(timeout=30) for f in group]


@pytest.fixture
def rq_state(rq_app):
    from plugin.app_state import state
    return state()


def test_concurrent_deliveries_share_one_insert_and_each_gets_its_own_answer(rq_app, rq_state, monkeypatch):
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)
    held = HeldGroups(rq_app, rq_state, monkeypatch)
    (a_code, a), answers = send_held_group(rq_app, shop, held)

    assert held.sizes == [1, 4]  # the four queued requests were written by one statement
    assert a_code == 200 and a["status"] == "pending"
    assert [code for code, _ in answers] == [200, 200, 200, 200]
    b, c, d, c_again = (answer for _, answer in answers)
    # The two copies of evt-c joined the group in whichever order their threads ran: one is
    # stored, the other is answered as a duplicate.
    c, c_again = sorted((c, c_again), key=lambda answer: answer["status"] == "duplicate")
    assert b["status"] == c["status"] == "pending"
    assert d["status"] == "ignored"  # its own shop's decision, not the group's
    assert c_again == {"status": "duplicate", "delivery_id": None}
    stored = rows(rq_state)
    assert {key: row.id for key, row in stored.items()} == {
        "event:evt-a": a["delivery_id"], "event:evt-b": b["delivery_id"],
        "event:evt-c": c["delivery_id"], "event:evt-d": d["delivery_id"]}
    assert stored["event:evt-d"].shop_domain == OTHER_SHOP and stored["event:evt-c"].shop_domain == shop
    # Each stored with its subject customer, as a single insert stores it.
    assert all(row.subject_customer_id for row in stored.values())
    # One job per new pending delivery, under its own id; none for the ignored one or the duplicate.
    assert sorted(queued_job_ids(rq_state)) == sorted(
        f"delivery-{answer['delivery_id']}-0" for answer in (a, b, c))


def test_a_connection_dropped_mid_group_is_replaced_and_the_group_stored_once(rq_app, rq_state, monkeypatch):
    """The server dropped the committer's connection (restart, failover) just before a group's
    INSERT: the group is sent again on a new connection; every request gets 200, rows stored once."""
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)

    def kill_before_second_group(n, committer):
        if n == 1:
            terminate(rq_state, committer._connection.info.backend_pid)
    held = HeldGroups(rq_app, rq_state, monkeypatch, before_write=kill_before_second_group)
    (a_code, _a), answers = send_held_group(rq_app, shop, held)

    assert a_code == 200 and [code for code, _ in answers] == [200, 200, 200, 200]
    assert sorted(answer["status"] for _, answer in answers) == ["duplicate", "ignored", "pending", "pending"]
    assert sorted(rows(rq_state)) == ["event:evt-a", "event:evt-b", "event:evt-c", "event:evt-d"]
    assert len(queued_job_ids(rq_state)) == 3


def test_a_group_that_cannot_be_stored_fails_every_request_and_stores_nothing(rq_app, rq_state, monkeypatch):
    """Postgres went away under a group: each of its requests answers 500 (Shopify retries),
    none of its rows or jobs exists; the retries are then stored once each."""
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)

    def database_gone(n, committer):
        if n == 1:
            terminate(rq_state, committer._connection.info.backend_pid)

            def refuse():
                raise psycopg.OperationalError("connection refused")
            monkeypatch.setattr(committer, "_connect", refuse)
    held = HeldGroups(rq_app, rq_state, monkeypatch, before_write=database_gone)
    (a_code, a), answers = send_held_group(rq_app, shop, held)

    assert a_code == 200
    assert [code for code, _ in answers] == [500, 500, 500, 500]
    assert sorted(rows(rq_state)) == ["event:evt-a"]  # nothing of the failed group
    assert queued_job_ids(rq_state) == [f"delivery-{a['delivery_id']}-0"]

    monkeypatch.undo()  # Postgres is back; Shopify retries each delivery
    retried = [post(rq_app, topic, event_id, shop if s == "SHOP" else s) for topic, event_id, s in GROUP]
    assert [answer["status"] for _, answer in retried] == ["pending", "pending", "ignored", "duplicate"]
    assert sorted(rows(rq_state)) == ["event:evt-a", "event:evt-b", "event:evt-c", "event:evt-d"]
    assert len(queued_job_ids(rq_state)) == 3


def test_with_redis_gone_the_group_is_stored_and_left_pending_for_the_sweeper(rq_app, rq_state, monkeypatch):
    from redis.connection import Connection
    from redis.exceptions import ConnectionError as RedisConnectionError
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)

    def redis_gone(*_args, **_kwargs):
        raise RedisConnectionError("Redis is down")
    monkeypatch.setattr(Connection, "send_packed_command", redis_gone)  # whatever command the enqueue sends
    held = HeldGroups(rq_app, rq_state, monkeypatch)
    (a_code, _a), answers = send_held_group(rq_app, shop, held)

    assert a_code == 200 and [code for code, _ in answers] == [200, 200, 200, 200]
    stored = rows(rq_state)
    assert sorted(key for key, row in stored.items() if row.status == "pending") == [
        "event:evt-a", "event:evt-b", "event:evt-c"]
    monkeypatch.undo()
    assert queued_job_ids(rq_state) == []


def terminate(app_state, backend_pid: int) -> None:
    admin = create_engine(app_state.db.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid}).scalar_one()
    admin.dispose()


def test_the_next_group_is_written_while_a_group_pushes_its_jobs(rq_app, rq_state, monkeypatch):
    """The connection is handed to the next group as soon as a group's INSERT returned: while
    group A's Redis push is held, the group queued behind it is written (and committed); A's
    request still answers only after its job is queued."""
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)
    committer = ingress._committer(rq_app, rq_state)
    real_enqueue, pushing, release = committer._enqueue_new, threading.Event(), threading.Event()
    sizes: list[int] = []
    real_write = committer._write

    def held_push(results):
        if not pushing.is_set():  # the first group's push waits for the test
            pushing.set()
            assert release.wait(10), "the test never released the first push"
        return real_enqueue(results)

    def counted_write(group_rows):
        sizes.append(len(group_rows))
        return real_write(group_rows)
    monkeypatch.setattr(committer, "_enqueue_new", held_push)
    monkeypatch.setattr(committer, "_write", counted_write)

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(post, rq_app, "orders/paid", "evt-a", shop)
        assert pushing.wait(10)
        later = [pool.submit(post, rq_app, "orders/paid", event_id, shop) for event_id in ("evt-b", "evt-c")]
        wait_for(lambda: sum(sizes) == 3, "the requests behind the held push to be written")
        assert sorted(rows(rq_state)) == ["event:evt-a", "event:evt-b", "event:evt-c"]  # committed meanwhile
        assert not first.done()  # A still waits for its push
        release.set()
        answers = [first.result(timeout=30)] + [f.result(timeout=30) for f in later]
    assert [code for code, _ in answers] == [200, 200, 200]
    assert sorted(queued_job_ids(rq_state)) == sorted(f"delivery-{answer['delivery_id']}-0" for _, answer in answers)


def test_a_group_whose_answers_cannot_be_matched_fails_its_requests_and_no_follower_leads_again(
        rq_app, rq_state, monkeypatch):
    """Should the write ever answer fewer rows than it was given, every request of the group
    gets an error (500; Shopify retries, the retries are answered from the stored rows) instead
    of a follower waking up with no answer and leading a second group on the same connection."""
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)

    held = HeldGroups(rq_app, rq_state, monkeypatch)
    real_write = held.committer._write

    def short_write(group_rows):
        results = real_write(group_rows)
        return results[:-1] if len(group_rows) > 1 else results
    monkeypatch.setattr(held.committer, "_write", short_write)
    (a_code, _a), answers = send_held_group(rq_app, shop, held)
    assert a_code == 200
    assert sorted(code for code, _ in answers) == [500, 500, 500, 500]


def test_under_load_a_leader_waits_for_more_deliveries_but_never_for_a_lone_one(rq_app, rq_state, monkeypatch):
    """After groups of several (load), the next leader lingers until its group is as large as
    the largest recent one (here 2) or LINGER_SECONDS pass, so the two are written together;
    after lone deliveries it writes at once. It does not wait for every request thread (here 4):
    a process serving fewer connections than it has threads would wait out every linger (the
    linger is made 30 s here: a wait would show as an answer missing its 20 s deadline)."""
    shop = "group-shop.myshopify.com"
    add_shop(rq_state, shop)
    committer = ingress._committer(rq_app, rq_state)
    sizes: list[int] = []
    lingered: list[int] = []
    real_write, real_wait = committer._write, committer._joined.wait_for

    def counted_write(group_rows):
        sizes.append(len(group_rows))
        return real_write(group_rows)

    def recorded_wait(predicate, timeout):
        lingered.append(len(committer._waiting))
        return real_wait(predicate, timeout)
    monkeypatch.setattr(committer, "_write", counted_write)
    monkeypatch.setattr(committer._joined, "wait_for", recorded_wait)
    monkeypatch.setattr(committer, "_linger", 30.0)
    monkeypatch.setattr(committer, "_full", 4)

    assert post(rq_app, "orders/paid", "evt-alone", shop)[0] == 200  # one at a time: no wait
    assert lingered == [] and sizes == [1]

    committer._recent_sizes.append(2)  # as after a group of two
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, rq_app, "orders/paid", "evt-a", shop)
        wait_for(lambda: committer._lingering, "the leader to linger")
        second = pool.submit(post, rq_app, "orders/paid", "evt-b", shop)
        answers = [first.result(timeout=20), second.result(timeout=20)]
    assert [code for code, _ in answers] == [200, 200]
    assert lingered == [1] and sizes == [1, 2]  # one leader waited, then wrote both rows
