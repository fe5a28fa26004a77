"""What the web app, the CLI and the jobs share: config, database, job queue, token cipher.

Built once by ``create_app()``; code that runs inside an app context reaches it with
``state()``, so no module needs the factory itself.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from plugin.config import Config
from plugin.crypto import TokenCipher
from plugin.db import Database
from plugin.jobs.queue import JobQueue


@dataclass
class AppState:
    config: Config
    db: Database
    queue: JobQueue
    cipher: TokenCipher
    # Steps that prepare a newly installed shop's row (e.g. loyalty's default program),
    # registered by the factory so installing needs no feature import.
    shop_setup: list[Callable[[Any], None]] = field(default_factory=list)
    # Work done once so it is not repeated per job: the RQ worker runs these (each gets this
    # AppState) in its parent before forking; every work horse inherits the result
    # (plugin/jobs/worker.py).
    warm_up: list[Callable[[Any], object]] = field(default_factory=list)
    # Jobs (dotted function paths) a work horse may run one after another in-process: each
    # must be safe to lose after RQ handed it over, because its row in Postgres brings it
    # back (plugin/jobs/worker.py AppWorker.drain_waiting).
    drainable_jobs: set[str] = field(default_factory=set)


def state() -> AppState:
    """The running app's shared state (inside an app context: a request, a CLI command or a job)."""
    return current_app.extensions["embajador"]
