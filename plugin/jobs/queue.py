"""Thin job transport. Postgres holds the work; RQ only carries ids.

Without REDIS_URL (the demo) jobs run in-process right after the commit. With Redis, a
failed enqueue is logged and left to the sweeper (``tick``): losing Redis loses nothing.
Job ids come from our own row ids (``[A-Za-z0-9_-]`` only, per RQ's rules).
"""
from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.utils import get_call_string, now, utcformat

from plugin.logs import get_logger

log = get_logger("jobs")
QUEUE_NAME = "embajador"
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class JobQueue(Protocol):
    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300,
                unless_waiting: bool = False) -> bool: ...

    def enqueue_once(self, func_path: str, *args, job_id: str, delay: timedelta) -> bool: ...


def resolve(func_path: str):
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class InlineQueue:
    """Runs the job at once, in this process (demo mode)."""

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300,
                unless_waiting: bool = False) -> bool:
        _check_job_id(job_id)
        resolve(func_path)(*args)
        return True

    def enqueue_once(self, func_path: str, *args, job_id: str, delay: timedelta) -> bool:
        return self.enqueue(func_path, *args, job_id=job_id)  # nothing to coalesce with: run now


JOB_OPTIONS: dict[str, Any] = {"result_ttl": 300, "failure_ttl": 7 * 24 * 3600, "timeout": 300}


class RQQueue:
    def __init__(self, redis_url: str, name: str = QUEUE_NAME):
        self.connection = redis_connection(redis_url)
        self.queue = Queue(name, connection=self.connection)
        self._scripts: dict[str, Script] = {}

    def enqueue(self, func_path: str, *args, job_id: str, timeout: int = 300,
                unless_waiting: bool = False) -> bool:
        """The job hash, the queue-set SADD and the RPUSH, in one script (``_send``). ``timeout``: the
        seconds RQ lets the job run (a long simulation asks for more than the default 300).

        ``unless_waiting``: for work a tick re-enqueues under the same id every minute (due
        emails, outbound retries): another copy of a job still waiting in the list would only
        pile up duplicates ahead of new work (each a no-op run), so the waiting one stands for
        it. One more round trip, so fresh ids (ingress) do not ask.

        No unique=: a failed job's hash would block re-enqueues for failure_ttl. Every job
        re-checks its row under a lock, so a second copy is a cheap no-op."""
        _check_job_id(job_id)
        try:
            if unless_waiting and self._waiting(job_id):
                return True
        except RedisError as exc:
            return _enqueue_failed(exc, job_id)
        return self._send(func_path, [(args, job_id)], timeout)

    def enqueue_many(self, func_path: str, jobs: list[tuple[tuple, str]], timeout: int = 300) -> bool:
        """``enqueue`` for several ``(args, job_id)`` at once: every job in one round trip (the
        webhook ingress's group commit). Pushed in order; on a Redis error they are left to
        the sweeper, as for ``enqueue``."""
        for _args, job_id in jobs:
            _check_job_id(job_id)
        return self._send(func_path, jobs, timeout) if jobs else True

    def _send(self, func_path: str, jobs: list[tuple[tuple, str]], timeout: int) -> bool:
        """Every job of ``jobs`` in one ``EVALSHA`` of this function's enqueue script: one
        command to pack and one reply to read, whatever the number of jobs (a redis-py
        pipeline of SADD + HSET + PERSIST + RPUSH per job cost 2.7x the client CPU of a plain
        round trip: bench/RESULTS.md). The script is atomic: an id is never queued without
        its hash, and no hash is left behind without its id."""
        stamp = utcformat(now())
        keys = [self.queue.key, self.queue.redis_queues_keys]
        args: list = [timeout, stamp]
        for job_args, job_id in jobs:
            keys.append(Job.key_for(job_id))
            # ``data`` uncompressed: RQ's Job.restore reads data that zlib refuses as is (its
            # "Fallback to uncompressed string", rq/job.py), and a pickle never starts with a
            # zlib header; compressing ~80 bytes cost 8 us per job.
            args += [job_id, self.queue.serializer.dumps((func_path, None, job_args, {})),
                     get_call_string(func_path, job_args, {}, max_length=75)]
        try:
            self._script(func_path)(keys=keys, args=args)
            return True
        except RedisError as exc:
            return _enqueue_failed(exc, jobs[0][1])

    def _script(self, func_path: str) -> Script:
        """The enqueue script of ``func_path``: the job hash RQ's ``Queue.enqueue_call`` writes,
        with the fields that are the same for every job written into the script's source.

        RQ builds them once (``create_job`` + ``_prepare_for_queue`` + ``Job.to_dict``: every
        field and default as this RQ version writes them); ``_send`` adds what depends on the
        arguments and the clock, computed as ``Job.to_dict`` computes it. A finished run of the
        same id left its hash expiring (result_ttl) and HSET keeps an expiry, so the script
        PERSISTs the hash: a queued job must not vanish from under its list entry (RQ would
        drop the id silently). redis-py's ``Script`` sends EVALSHA and loads the source again
        when Redis lost it (a restart).
        https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
        tests/integration/webhooks/test_rq_pipeline.py checks that RQ reads the hash back as
        its own and that a worker runs it."""
        script = self._scripts.get(func_path)
        if script is None:
            job = self.queue.create_job(func_path, args=(), **JOB_OPTIONS)
            self.queue._prepare_for_queue(job)  # origin and status as enqueue_call sets them
            static = ", ".join(f"{_lua_string(name)}, {_lua_string(value)}"
                               for name, value in job.to_dict().items() if name not in _PER_JOB_FIELDS)
            script = self._scripts[func_path] = self.connection.register_script(_ENQUEUE_SCRIPT % static)
        return script

    def _waiting(self, job_id: str) -> bool:
        """Is a job of this id queued and still in the list (not yet taken by a worker)?"""
        status = self.connection.hget(Job.key_for(job_id), "status")
        return status == JobStatus.QUEUED.value.encode() and self.connection.lpos(self.queue.key, job_id) is not None

    def enqueue_once(self, func_path: str, *args, job_id: str, delay: timedelta) -> bool:
        """Run ``func_path`` after ``delay`` unless a job with this id is already pending
        (scheduled, queued or running): one pending job per id, whatever the number of calls.
        Returns False when one was pending (or Redis failed: a sweeper must cover the work).

        RQ's ``schedule_job(..., unique=True)`` checks and schedules atomically (one Lua
        script, one round trip) and refuses an id whose job hash exists; ``result_ttl=0``
        deletes that hash when the job succeeds, so the next change schedules a new one.
        A job that fails keeps it for ``failure_ttl``: short here, the sweeper covers it."""
        _check_job_id(job_id)
        try:
            job = self.queue.create_job(func_path, args=args, job_id=job_id, status=JobStatus.SCHEDULED,
                                        result_ttl=0, failure_ttl=600, timeout=300)
            self.queue.schedule_job(job, datetime.now(UTC) + delay, unique=True)
            return True
        except DuplicateJobError:
            return False
        except RedisError as exc:
            log.warning("enqueue failed, the sweeper will retry: %s", type(exc).__name__, extra={"job_id": job_id})
            return False


# What ``_send`` passes per job; every other field of RQ's job hash is the same for all jobs.
_PER_JOB_FIELDS = frozenset({"created_at", "enqueued_at", "timeout", "data", "description"})
# KEYS: the queue's list, RQ's set of queues, then each job's hash. ARGV: the timeout, the
# created/enqueued instant, then per job its id, data and description.
_ENQUEUE_SCRIPT = """
local static = {%s}
redis.call('SADD', KEYS[2], KEYS[1])
for i = 3, #KEYS do
  local a = 3 * (i - 3) + 3
  redis.call('HSET', KEYS[i], 'created_at', ARGV[2], 'enqueued_at', ARGV[2], 'timeout', ARGV[1],
             'data', ARGV[a + 1], 'description', ARGV[a + 2], unpack(static))
  redis.call('PERSIST', KEYS[i])
  redis.call('RPUSH', KEYS[1], ARGV[a])
end
return #KEYS - 2
"""
_LUA_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:-")


def _lua_string(value) -> str:
    """``value`` as redis-py would send it, as a Lua string literal: every byte outside
    [A-Za-z0-9 _.:-] written as a decimal escape, so no value can end the literal early."""
    value = value.value if isinstance(value, Enum) else value
    data = value if isinstance(value, bytes) else str(value).encode()
    return '"' + "".join(chr(b) if b in _LUA_PLAIN else f"\\{b:03d}" for b in data) + '"'


def _enqueue_failed(exc: RedisError, job_id: str) -> bool:
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
