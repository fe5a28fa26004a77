"""`python -m plugin.jobs.worker`: the RQ worker (Procfile `worker`).

A HerokuWorker, so SIGTERM on deploys lets the current job finish, with the scheduler so
delayed jobs run. The app is built once, in the parent, before any fork: every job's work
horse inherits it instead of importing the package and running ``create_app()`` again, and
runs inside its app context (``plugin.app_state.state()``). The horse drops the database
connections it inherited, so parent and child never share a socket.
"""
from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.job import Job
from rq.worker import HerokuWorker
from sqlalchemy.orm import configure_mappers

from plugin import create_app
from plugin.config import ConfigError, load_config
from plugin.jobs.queue import QUEUE_NAME, redis_connection
from plugin.logs import get_logger

log = get_logger("worker")
# Waits between reconnection attempts after Redis went away: 0.5 s doubling to 30 s.
RECONNECT_FIRST_WAIT = 0.5
RECONNECT_MAX_WAIT = 30.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class AppWorker(HerokuWorker):
    """Runs every job inside ``app``'s context."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def main_work_horse(self, job: Job, queue: Queue):
        # In the forked child: never reuse a pooled connection the parent may hold.
        self.app.extensions["embajador"].db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            return super().perform_job(job, queue)


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        sys.stderr.write(f"embajador: configuration error: {exc}\n")
        return 2
    if not config.redis_url:
        sys.stderr.write("embajador: configuration error: REDIS_URL: is required to run a worker\n")
        return 2
    app = create_app()
    warm(app)
    burst = "--burst" in sys.argv

    def work_once() -> None:
        connection = redis_connection(config.redis_url)
        worker = AppWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app)
        worker.work(with_scheduler=True, burst=burst)

    work_until_stopped(work_once, sleep=time.sleep)
    return 0


def warm(app: Flask) -> None:
    """Do once, in the parent, what every work horse would otherwise repeat after its fork.

    The warm-up steps the factory registered (every webhook handler imported, the program
    validator built, a rolled-back rehearsal of orders/paid that fills SQLAlchemy's statement
    caches: webhooks/rehearsal.py), SQLAlchemy's mappers configured; then ``gc.freeze()``: the objects built so far
    leave the collector's generations, so a horse's garbage collection no longer walks (and
    copy-on-write copies) the whole inherited heap. Measured: a horse spent 0.24-0.58 s per
    orders/paid before this, most of it in these first-time costs (bench/RESULTS.md).
    The rehearsal's connection is closed before this returns: the parent holds no socket a
    horse could share.
    """
    app_state = app.extensions["embajador"]
    for step in app_state.warm_up:
        step(app_state)
    configure_mappers()
    gc.collect()
    gc.freeze()


def work_until_stopped(work_once: Callable[[], None], sleep: Callable[[float], None],
                       max_outages: int | None = None) -> int:
    """Run the worker; when Redis goes away, wait (growing pauses) and start a fresh one.

    A lost Redis loses no work: the inbox in Postgres keeps every delivery and the sweeper
    re-enqueues it. Exiting instead would make the host restart the dyno with a growing
    cooldown. Returns how many outages were ridden out (``max_outages`` bounds it in tests).
    """
    outages, wait = 0, RECONNECT_FIRST_WAIT
    while True:
        started = time.monotonic()
        try:
            work_once()
            return outages
        except REDIS_DOWN as exc:
            outages += 1
            if time.monotonic() - started > RECONNECT_MAX_WAIT:  # it had been working: a new outage
                wait = RECONNECT_FIRST_WAIT
            if max_outages is not None and outages > max_outages:
                raise
            log.warning("redis unavailable, reconnecting in %.1fs: %s", wait, type(exc).__name__,
                        extra={"status": "reconnecting"})
            sleep(wait)
            wait = min(wait * 2, RECONNECT_MAX_WAIT)


if __name__ == "__main__":
    raise SystemExit(main())
