"""`python -m plugin.jobs.worker`: the RQ worker (Procfile `worker`).

A HerokuWorker, so SIGTERM on deploys lets the current job finish, with the scheduler so
delayed jobs run. The app is built once, in the parent, before any fork: every job's work
horse inherits it instead of importing the package and running ``create_app()`` again, and
runs inside its app context (``plugin.app_state.state()``). The horse drops the database
connections it inherited, so parent and child never share a socket.
"""
from __future__ import annotations

import sys

from flask import Flask
from rq import Queue
from rq.job import Job
from rq.worker import HerokuWorker

from plugin import create_app
from plugin.config import ConfigError, load_config
from plugin.jobs.queue import QUEUE_NAME, redis_connection


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
    connection = redis_connection(config.redis_url)
    worker = AppWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app)
    worker.work(with_scheduler=True, burst="--burst" in sys.argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
