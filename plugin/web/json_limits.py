"""JSON from outside (request bodies, webhook payloads) parsed with a bound on nesting.

``json.loads`` on 100,000 nested ``[`` raises ``RecursionError`` (not ``ValueError``), which
frameworks do not treat as bad input, so it became a 500; a document just under the
interpreter's limit would blow up later, in validation. Here both are a ``ValueError``.
"""
from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class JSONTooDeep(ValueError):
    """The document nests arrays/objects deeper than ``MAX_DEPTH``."""


def bounded_loads(raw: str | bytes, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` that raises ``ValueError`` for deeply nested documents."""
    try:
        value = json.loads(raw, **kwargs)
    except RecursionError:
        raise JSONTooDeep(f"JSON nests deeper than {max_depth} levels") from None
    if _depth_exceeds(value, max_depth):
        raise JSONTooDeep(f"JSON nests deeper than {max_depth} levels")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Iterative (a recursive walk would hit the very limit it guards)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider whose ``loads`` (used by ``request.get_json``) is bounded, so a
    hostile body is a 400 (or ``None`` with ``silent=True``) on every route."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return bounded_loads(s, **kwargs)
