"""A what-if split across processes: each replays a range of customers on a connection of its
own, and the parent merges their comparisons (``Comparison.merged``: exact).

Per-customer replay is independent, and the rules are CPU-bound Python, so processes (not
threads) are what make a 1 M-order history faster. The children are forked: they inherit the
programs, the replay function and the engine without pickling, and only their comparison comes
back. A child must never use a pooled connection of the parent: ``Engine.dispose(close=False)``
in the child drops the inherited pool without closing the parent's sockets — SQLAlchemy's
"Using Connection Pools with Multiprocessing or os.fork()" (core/pooling). It works the same
under the RQ work horse (itself a fork) and the CLI; RQ puts the horse in a process group of its
own (``os.setpgrp()``) and kills the group (``os.killpg``) on a timeout
(rq/worker/worker_classes.py), so the parts go with it.

A child that fails (an exception, or dying without an answer) fails the run: the others are
stopped and ``WhatifWorkerFailed`` names the part and the error's type (never its message: a
database error can quote a customer's data).
"""
from __future__ import annotations

import multiprocessing
import queue as queues
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plugin.whatif.rules.comparison import Comparison

Replay = Callable[[Session, Any, Callable[[int], None]], Comparison]
POLL_SECONDS = 1.0


class WhatifWorkerFailed(RuntimeError):
    """One of the processes of a what-if run failed; the run has no report."""


def replay_in_processes(session: Session, ranges: list, replay: Replay,
                        on_progress: Callable[[int], None]) -> tuple[Comparison, int]:
    """``replay`` each range of customers in a process of its own; the merged comparison and the
    number of orders read. ``on_progress`` gets the running total of orders read."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue()
    children = [context.Process(target=_child, args=(engine, replay, customers, index, messages),
                                name=f"whatif-part-{index + 1}", daemon=True)
                for index, customers in enumerate(ranges)]
    for child in children:
        child.start()
    parts: dict[int, Comparison] = {}
    done = 0
    try:
        while len(parts) < len(children):
            try:
                kind, index, value = messages.get(timeout=POLL_SECONDS)
            except queues.Empty:
                _check_alive(children, parts, messages)
                continue
            if kind == "progress":
                done += value
                on_progress(done)
            elif kind == "done":
                parts[index] = value
            else:
                raise WhatifWorkerFailed(f"what-if part {index + 1} of {len(children)} failed: {value}")
    finally:
        for child in children:
            if child.is_alive() and len(parts) < len(children):
                child.terminate()  # only our own children, by their process handle
            child.join()
        messages.close()
    return Comparison.merged([parts[i] for i in range(len(children))]), done


def _check_alive(children: list, parts: dict[int, Comparison], messages: Any) -> None:
    """A child gone without its answer fails the run (a child puts its answer in the pipe before
    it exits, so an exited child whose answer is not waiting there sent none)."""
    for index, child in enumerate(children):
        if index not in parts and child.exitcode is not None and messages.empty():
            raise WhatifWorkerFailed(f"what-if part {index + 1} of {len(children)} ended without an answer "
                                     f"(exit code {child.exitcode})")


def _child(engine: Engine, replay: Replay, customers: Any, index: int, messages: Any) -> None:
    try:
        engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        with Session(engine) as session:
            comparison = replay(session, customers, lambda n: messages.put(("progress", index, n)))
            session.rollback()  # read only
        messages.put(("done", index, comparison))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        messages.put(("failed", index, type(exc).__name__))
