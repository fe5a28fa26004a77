"""`python -m plugin.jobs.worker`: the RQ worker (Procfile `worker`).

HerokuWorker so SIGTERM on deploys lets the current job finish; with the scheduler so
delayed jobs run; the Redis connection built like the web app's (rediss:// self-signed).
"""
from __future__ import annotations

import sys

from rq import Queue
from rq.worker import HerokuWorker

from plugin.config import ConfigError, load_config
from plugin.jobs.queue import QUEUE_NAME, redis_connection


def main() -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        sys.stderr.write(f"embajador: configuration error: {exc}\n")
        return 2
    if not config.redis_url:
        sys.stderr.write("embajador: configuration error: REDIS_URL: is required to run a worker\n")
        return 2
    connection = redis_connection(config.redis_url)
    worker = HerokuWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(with_scheduler=True, burst="--burst" in sys.argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
