"""The one place that talks to SendGrid's Mail Send API (official SDK, ``host=`` from
SENDGRID_API_HOST: US, EU residency or a local sink in tests).

It only posts a prepared body and classifies the answer; idempotency and retry
scheduling live with the outbox row (emails/send_job.py), which is durable."""
from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

DEFAULT_TIMEOUT = 10.0
RETRYABLE = {408, 429}
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


@dataclass(frozen=True)
class SendResult:
    """``outcome``: ``sent`` (202), ``retry`` (429/5xx/network) or ``failed`` (permanent)."""

    outcome: str
    status: int | None
    sg_message_id: str | None = None
    retry_after: timedelta | None = None
    error: str | None = None


class SendGridSender:
    def __init__(self, api_key: str, host: str, timeout: float = DEFAULT_TIMEOUT):
        self.client = SendGridAPIClient(api_key=api_key, host=host)
        self.client.client.timeout = timeout  # the SDK has no timeout by default

    def post(self, body: dict, now: datetime | None = None) -> SendResult:
        """POST /v3/mail/send once; never raises for an HTTP or network error."""
        try:
            response = self.client.client.mail.send.post(request_body=body)
        except HTTPError as exc:
            return _classify_error(exc.status_code, exc.headers, exc.body, now)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            return SendResult("retry", None, error=f"network: {type(exc).__name__}")
        headers = response.headers or {}
        if response.status_code == 202 or response.status_code == 200:
            return SendResult("sent", response.status_code, sg_message_id=_header(headers, "X-Message-Id"))
        return _classify_error(response.status_code, headers, response.body, now)


def _header(headers, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    value = getter(name) if getter else None
    if value is None and hasattr(headers, "items"):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def _classify_error(status: int, headers, body, now: datetime | None) -> SendResult:
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    error = f"HTTP {status}: {text[:500]}"
    if status in RETRYABLE or status >= 500:
        return SendResult("retry", status, retry_after=rate_limit_wait(headers, now), error=error)
    return SendResult("failed", status, error=error)


def rate_limit_wait(headers, now: datetime | None = None) -> timedelta | None:
    """How long SendGrid asked us to wait: Retry-After (seconds or HTTP date) or
    X-RateLimit-Reset (epoch seconds)."""
    now = now or datetime.now(UTC)
    retry_after = _header(headers, "Retry-After")
    if retry_after:
        if retry_after.strip().isdigit():
            return timedelta(seconds=int(retry_after))
        try:
            return max(parsedate_to_datetime(retry_after) - now, timedelta(0))
        except (TypeError, ValueError):
            pass
    reset = _header(headers, "X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(datetime.fromtimestamp(int(reset), UTC) - now, timedelta(0))
    return None


def backoff(attempts: int, asked: timedelta | None) -> timedelta:
    """Exponential backoff (30 s, 60 s, 120 s… capped at 1 h), never sooner than asked."""
    wait = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    return max(wait, asked or timedelta(0))


__all__ = ["SendGridSender", "SendResult", "backoff", "rate_limit_wait"]
