"""Thin job transport. Postgres holds the work; RQ only carries ids.

Without REDIS_URL (the demo) jobs run in-process right after the commit. With Redis, a
failed enqueue is logged and left to the sweeper (``tick``): losing Redis loses nothing.
Job ids come from our own row ids (``[A-Za-z0-9_-]`` only, per RQ's rules).
"""
from __future__ import annotations

import importlib
import re
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from plugin.logs import get_logger

log = get_logger("jobs")
QUEUE_NAME = "embajador"
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class JobQueue(Protocol):
    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300) -> bool: ...


def resolve(func_path: str):
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class InlineQueue:
    """Runs the job at once, in this process (demo mode)."""

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300) -> bool:
        _check_job_id(job_id)
        resolve(func_path)(*args)
        return True


class RQQueue:
    def __init__(self, redis_url: str, name: str = QUEUE_NAME):
        self.connection = redis_connection(redis_url)
        self.queue = Queue(name, connection=self.connection)

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300) -> bool:
        """``timeout``: seconds RQ lets the job run (long simulations ask for more)."""
        _check_job_id(job_id)
        try:
            # No unique=: a failed job's hash would block re-enqueues for failure_ttl. Every
            # job re-checks its row under a lock, so a second copy is a cheap no-op.
            # One pipeline (MULTI/EXEC): the queue-set SADD, the job hash and the RPUSH
            # travel in one round trip instead of two.
            pipe = self.connection.pipeline()
            self.queue.enqueue_call(func_path, args=args, job_id=job_id, result_ttl=300,
                                    failure_ttl=7 * 24 * 3600, timeout=timeout, pipeline=pipe)
            pipe.execute()
            return True
        except RedisError as exc:
            log.warning("enqueue failed, the sweeper will retry: %s", type(exc).__name__, extra={"job_id": job_id})
            return False


def redis_connection(redis_url: str):
    """Heroku Redis is rediss:// with a self-signed certificate."""
    kwargs = {"socket_timeout": 5, "socket_connect_timeout": 2}
    if redis_url.startswith("rediss://"):
        kwargs["ssl_cert_reqs"] = None
    return Redis.from_url(redis_url, **kwargs)


def _check_job_id(job_id: str) -> None:
    if not _JOB_ID.match(job_id):
        raise ValueError(f"job id {job_id!r} may only contain A-Z a-z 0-9 _ -")
