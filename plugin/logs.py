"""Structured logging: JSON lines in production, short text in the demo.

Log calls pass ``extra={"shop": ..., "delivery_id": ...}``; payloads, emails and tokens
are never logged (they are protected customer data or secrets).
"""
from __future__ import annotations

import json
import logging
import sys

CONTEXT_FIELDS = ("shop", "delivery_id", "topic", "job_id", "status", "flow", "message_id", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: getattr(record, k) for k in CONTEXT_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, default=str)


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


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"embajador.{name}")
