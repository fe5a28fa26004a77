"""Group commit: the deliveries a gunicorn process receives at the same moment share one
INSERT, one commit (one WAL flush) and one Redis round trip for their jobs.

Request threads hand their verified row to the process's ``GroupCommitter`` and wait. One of
them, the leader, takes every row waiting at that moment, writes them with one multi-row
``INSERT … ON CONFLICT DO NOTHING RETURNING`` on the process's own psycopg connection in
autocommit (committed when the statement returns), hands the connection to the next group
(the rows that arrived meanwhile, led by the first of them), pushes its new rows' jobs in one
Redis round trip, and only then wakes each request of its group with its own answer. Under
load, a leader first waits a moment for more rows (``LINGER_SECONDS``). One statement is
atomic: a group is stored whole or not at all, so a failed group fails each of its requests
the way a failed single insert did (a 500, Shopify retries; the same unique key dedupes the
retry).
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from webhooks.inbox import StoreResult, insert_group_pg

MAX_GROUP = 64  # bounded by the request threads of a process anyway
# Under load (one of the last RECENT_GROUPS groups held several deliveries), a leader waits
# this long at most for its group to reach the largest of those sizes: like PostgreSQL's
# commit_delay, a little latency for fewer statements and round trips per delivery
# (bench/RESULTS.md). Waiting for the largest recent group rather than for every request thread:
# a process that serves fewer connections than it has threads (gunicorn's workers rarely get
# even shares) would otherwise wait out the whole linger on every group (measured: every one of
# 1,794 groups of 4 in a process with 8 threads). Once the last RECENT_GROUPS groups each held
# one delivery, deliveries that arrive one at a time are never delayed.
LINGER_SECONDS = 0.003
RECENT_GROUPS = 16

Row = dict  # delivery_values(...) plus "compliance": one delivery's parameters


class GroupWriteFailed(Exception):
    """The INSERT of this request's group failed (the cause is chained): nothing of the group
    was stored; the request answers 500 and Shopify retries it."""


@dataclass(eq=False)
class _Waiter:
    """One request's row and, once its group is written, its answer. ``gate`` is a plain lock
    held from the start: the request blocks acquiring it, whoever wakes it releases it (a
    ``threading.Lock`` may be released by another thread; ~0.4 µs against ~13 µs for an Event).
    https://docs.python.org/3/library/threading.html#lock-objects"""
    row: Row
    gate: threading.Lock = field(default_factory=threading.Lock)
    result: StoreResult | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.gate.acquire()


class GroupCommitter:
    """One per process (its connection is not shared across a fork).

    ``connect`` opens the dedicated psycopg connection (autocommit); ``enqueue_new`` pushes
    the jobs of the rows a group created (``created`` results, pending or ignored), after their
    commit, in one round trip, before any request of the group answers; it must not raise (a
    lost Redis leaves the rows pending for the sweeper)."""

    def __init__(self, connect: Callable[[], psycopg.Connection],
                 enqueue_new: Callable[[list[StoreResult]], object] | None = None,
                 threads: int = MAX_GROUP):
        self._connect = connect
        self._enqueue_new = enqueue_new
        self.enqueues = enqueue_new is not None  # else each request enqueues its own job
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._joined = threading.Condition(self._lock)  # a lingering leader waits on it
        self._full = min(threads, MAX_GROUP)  # no group can hold more than the request threads
        self._linger = LINGER_SECONDS
        self._lingering = False
        self._expected = 1  # the group size a lingering leader waits for
        self._recent_sizes: deque[int] = deque([1], maxlen=RECENT_GROUPS)
        self._waiting: list[_Waiter] = []
        self._leading = False  # invariant: rows are waiting => a leader is running or woken
        self._connection: psycopg.Connection | None = None

    def store(self, row: Row) -> StoreResult:
        """Committed before it returns; raises what the group's INSERT raised."""
        waiter = _Waiter(row)
        with self._lock:
            self._waiting.append(waiter)
            follow, self._leading = self._leading, True
            if self._lingering and len(self._waiting) >= self._expected:
                self._joined.notify()
        if follow:
            waiter.gate.acquire()  # answered by a leader, or made the next leader
        if waiter.result is None and waiter.error is None:
            self._lead(waiter)
        if waiter.error is not None:
            if follow:
                # One exception object raised in several threads would pile their frames onto
                # one traceback: each follower raises its own, chained to the group's.
                raise GroupWriteFailed(type(waiter.error).__name__) from waiter.error
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _lead(self, leader: _Waiter) -> None:
        with self._lock:
            expected = self._expected = min(max(self._recent_sizes), self._full)
            if len(self._waiting) < expected:  # never after lone deliveries only (expected 1)
                self._lingering = True
                self._joined.wait_for(lambda: len(self._waiting) >= expected, self._linger)
                self._lingering = False
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            self._recent_sizes.append(len(group))
        # Rows wait only while a leader runs, so the leader (the first to arrive, or the one
        # woken to lead) is the first of them: in this group, whatever MAX_GROUP is.
        results: list[StoreResult] | None = None
        try:
            results = self._write([w.row for w in group])
        except BaseException as exc:  # noqa: BLE001 - every request of the group gets the group's error
            for waiter in group:
                waiter.error = exc
        finally:
            # The connection is free: the next group's INSERT (its commit wait) overlaps this
            # group's Redis push. Only the leader ever touches the connection.
            with self._lock:
                following = self._waiting[0] if self._waiting else None
                self._leading = following is not None
            if following is not None:
                following.gate.release()
        try:
            if results is not None:
                answers = list(zip(group, results, strict=True))  # all or none of them answered
                for waiter, result in answers:
                    waiter.result = result
                if self._enqueue_new is not None:  # it does not raise: a lost Redis leaves rows pending
                    self._enqueue_new([r for r in results if r.created])
        except BaseException as exc:  # noqa: BLE001 - a waiter woken with no answer would lead a second time
            for waiter in group:
                if waiter.result is None and waiter.error is None:
                    waiter.error = exc
            raise
        finally:
            for waiter in group:
                if waiter is not leader:
                    waiter.gate.release()

    def _write(self, rows: list[Row]) -> list[StoreResult]:
        """The group's INSERT. A connection the server dropped (restart, failover, idle cut)
        is replaced and the group sent once more: the INSERT is idempotent, so a group that
        committed just before the connection broke is answered ``duplicate`` (its rows stay
        pending and the sweeper enqueues them)."""
        for attempt in (1, 2):
            connection = self._connection
            if connection is None or connection.closed:
                connection = self._connection = self._connect()
            try:
                return insert_group_pg(connection, rows)
            except psycopg.OperationalError:
                if not connection.broken:
                    raise
                self._connection = None
                connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
