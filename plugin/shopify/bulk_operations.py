"""Backfill through bulk operations: start one query, poll it, stream its JSONL result.

Used by ``flask embajador import``: one bulk query per shop instead of thousands of
paginated calls against the rate limit. Polling is the caller's loop (progress bar,
sleep), so nothing here blocks for minutes.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from plugin.shopify.errors import ShopifyHTTPError
from plugin.shopify.graphql import DEFAULT_TIMEOUT, AdminClient

RUN_MUTATION = """
mutation StartBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

STATUS_QUERY = """
query BulkOperationStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl }
  }
}
"""

FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})


@dataclass(frozen=True)
class BulkOperation:
    id: str
    status: str
    object_count: int
    url: str | None
    error_code: str | None = None
    partial_data_url: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def start_bulk_query(client: AdminClient, query: str) -> str:
    """Start a bulk query (one per shop at a time) and return its gid."""
    result = client.mutate(RUN_MUTATION, {"query": query}, "bulkOperationRunQuery")
    return str(result["bulkOperation"]["id"])


def bulk_operation_status(client: AdminClient, operation_gid: str) -> BulkOperation:
    """Where the bulk operation is; ``url`` is set once it is COMPLETED (and data exists)."""
    node = client.execute(STATUS_QUERY, {"id": operation_gid})["node"] or {}
    return BulkOperation(
        id=node.get("id", operation_gid),
        status=node.get("status", "UNKNOWN"),
        object_count=int(node.get("objectCount") or 0),
        url=node.get("url"),
        error_code=node.get("errorCode"),
        partial_data_url=node.get("partialDataUrl"),
    )


def iter_bulk_results(url: str, *, session: requests.Session | None = None,
                      timeout: Any = DEFAULT_TIMEOUT) -> Iterator[dict[str, Any]]:
    """Stream the result file one JSON object per line, without loading it whole."""
    http = session or requests.Session()
    with http.get(url, stream=True, timeout=timeout) as response:
        if response.status_code != 200:
            raise ShopifyHTTPError(response.status_code, "bulk result download failed")
        for line in response.iter_lines(decode_unicode=False):
            if line.strip():
                yield json.loads(line)
