"""When to try again, when to give up on a delivery, when to disable an endpoint."""
from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a single delivery stops being retried
DISABLE_AFTER = timedelta(days=3)  # an endpoint failing continuously this long is switched off


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th attempt: 1, 2, 4 … minutes, at most 6 h."""
    exponent = max(0, min(attempts - 1, 20))
    delay: timedelta = FIRST_RETRY * (2 ** exponent)
    return min(delay, MAX_RETRY_DELAY)


def next_attempt_at(attempts: int, now: datetime) -> datetime:
    return now + retry_delay(attempts)


def gives_up(created_at: datetime, now: datetime) -> bool:
    """A delivery older than ``GIVE_UP_AFTER`` is not retried again."""
    return now - created_at >= GIVE_UP_AFTER


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300
