"""Structured logging: JSON lines in production, short text in the demo.

Log calls pass ``extra={"shop": ..., "delivery_id": ...}``; payloads, emails and tokens
are never logged (they are protected customer data or secrets).
"""
from __future__ import annotations

import json
import logging
import sys
import time

import msgspec

_PLAIN = frozenset({str, int, float, bool, type(None)})
CONTEXT_FIELDS = ("shop", "delivery_id", "topic", "job_id", "status", "flow", "message_id", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Busy routes log a line per request (each webhook delivery),
    so the line is cheap: the timestamp is formatted once per second, and msgspec encodes the
    usual line (plain strings and numbers). Anything else — another type, whose fields msgspec
    would spell out, or a string it cannot encode — goes through ``json.dumps`` with ``str``,
    as every line did before."""

    _encoder = msgspec.json.Encoder()

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self._timestamp(record), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: getattr(record, k) for k in CONTEXT_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        if all(type(value) in _PLAIN for value in entry.values()):
            try:
                return self._encoder.encode(entry).decode()
            except UnicodeEncodeError:  # a lone surrogate (json.loads accepts "\ud800"): escaped below
                pass
        return json.dumps(entry, default=str)

    def _timestamp(self, record: logging.LogRecord) -> str:
        """``formatTime(record, "%Y-%m-%dT%H:%M:%S")``, computed once per second."""
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(second)))
        return cached[1]


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k))
        return f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {extras}".rstrip()


def configure_logging(fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("embajador")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    # Nothing here prints a record's source line or thread: skip the stack walk and the
    # thread lookup every record would pay. The logging HOWTO's own optimisation advice:
    # https://docs.python.org/3/howto/logging.html#optimization
    logging._srcfile = None
    logging.logThreads = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"embajador.{name}")
