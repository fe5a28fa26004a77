"""`python -m plugin.jobs.worker`: the RQ worker (Procfile `worker`).

A HerokuWorker, so SIGTERM on deploys lets the current job finish, with the scheduler so
delayed jobs run. The app is built once, in the parent, before any fork: every job's work
horse inherits it instead of importing the package and running ``create_app()`` again, and
runs inside its app context (``plugin.app_state.state()``). The horse drops the database
connections it inherited, so parent and child never share a socket.

A horse whose job is one the factory registered as drainable (``AppState.drainable_jobs``:
webhook deliveries) then drains the waiting jobs of that kind from the head of the queue,
in-process on its open connection, instead of exiting so the parent forks one horse per job
(``AppWorker.drain_waiting``).
"""
from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import cast

from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.utils import as_text
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
# What one horse drains after its own job: at most this many more jobs, or this long, far
# below any job's timeout (300 s) and the parent's kill threshold (timeout + 60 s, measured
# from the horse's first job: rq/worker/worker_classes.py monitor_work_horse).
DRAIN_JOBS = 50
DRAIN_SECONDS = 2.0


class AppWorker(HerokuWorker):
    """Runs every job inside ``app``'s context; a horse drains waiting jobs of its own kind."""

    def __init__(self, *args, app: Flask, drain: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self.drain = drain
        self.stop_draining = False

    def main_work_horse(self, job: Job, queue: Queue):
        # In the forked child: never reuse a pooled connection the parent may hold.
        self.app.extensions["embajador"].db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)

    def request_stop_sigrtmin(self, signum, frame):
        # HerokuWorker's parent sends its horse SIGRTMIN on SIGTERM (handle_warm_shutdown_request):
        # the job under way may finish, but the horse takes no further one.
        self.stop_draining = True
        super().request_stop_sigrtmin(signum, frame)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            done = super().perform_job(job, queue)
            if done and self.drain and self._is_horse and job.func_name in self._drainable():
                self.drain_waiting(job.func_name, queue)
            return done

    def _drainable(self) -> frozenset[str]:
        return frozenset(self.app.extensions["embajador"].drainable_jobs)

    def drain_waiting(self, func_name: str, queue: Queue) -> int:
        """In the horse, after its own job: run the jobs of ``func_name`` waiting at the head of
        ``queue`` one at a time, as RQ runs a dequeued job (``prepare_execution`` as the parent
        does before forking, then ``perform_job``: started registry, status, result or failure,
        finished registry, execution cleaned up), until the budget is spent, the head is another
        kind of job, a job fails or the worker is asked to stop. Returns how many ran.

        Each job is claimed before it runs (``claim_head``); a drainable job must be safe to
        lose there. A webhook delivery is: if the horse dies after the claim, the job is gone
        from Redis but its inbox row is still pending (its transaction never committed), so the
        inbox sweeper enqueues it again; it still runs under its row lock in its own
        transaction, so a duplicate is a no-op.
        """
        deadline, ran = time.monotonic() + DRAIN_SECONDS, 0
        while ran < DRAIN_JOBS and time.monotonic() < deadline and not self.stop_draining:
            job = self.claim_head(func_name, queue)
            if job is None:
                break
            ran += 1
            self.prepare_execution(job)
            if not super().perform_job(job, queue):
                break
        return ran

    def claim_head(self, func_name: str, queue: Queue) -> Job | None:
        """The job at the head of ``queue`` if it runs ``func_name``, removed from the list.

        As in RQ 2.12.0 (pinned; read in site-packages/rq): the queue is the list
        ``rq:queue:<name>`` of job ids (``Queue.key``), each job the
        hash ``rq:job:<id>`` (``Job.key_for``); a worker takes an id by popping or LMOVE-ing it
        off that list (``Queue.dequeue_any``). LREM is one atomic command: whoever removes the
        id owns the job, so no other worker or horse runs this copy. A lost race moves on to
        the next head."""
        for _ in range(3):
            head = self.connection.lindex(queue.key, 0)
            if head is None:
                return None
            job_id = as_text(cast(bytes | str, head))
            try:
                job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
            except NoSuchJobError:
                return None  # RQ's own dequeue skips such an id; leave that to it
            if job.func_name != func_name:
                return None
            if self.connection.lrem(queue.key, 1, job_id):
                return job
        return None


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
    drain = "--no-drain" not in sys.argv  # one job per horse (bench/awarding.py compares both)

    def work_once() -> None:
        connection = redis_connection(config.redis_url)
        worker = AppWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app,
                           drain=drain)
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
