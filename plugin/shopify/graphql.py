"""The one Admin GraphQL client: versioned, timeout-bound, throttling-aware.

Every Shopify call of web, worker and CLI goes through ``AdminClient`` so retries,
rate limiting, token refresh and logging are decided once. It takes plain values
(no Flask, no database) so each edge wires its own token storage through
``token_provider`` / ``on_unauthorized``.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from plugin.shopify.errors import (
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyHTTPError,
    ShopifyQueryTooCostly,
    ShopifyThrottled,
    ShopifyUnauthorized,
    ShopifyUserError,
    excerpt,
)
from plugin.shopify.shop_domain import normalize_shop_domain

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 20)
_API_VERSION = re.compile(r"\d{4}-\d{2}|unstable")
_OPERATION = re.compile(r"^\s*(query|mutation)\s*([_A-Za-z][_0-9A-Za-z]*)?", re.MULTILINE)
# When the bucket falls below this share of its size, wait before the next call
# rather than spend a round trip on a THROTTLED answer.
_LOW_WATER_FRACTION = 0.1
_BACKOFF_BASE_SECONDS = 1.0
_MAX_BACKOFF_SECONDS = 30.0
# 502/503 mean the request did not reach Shopify's executor, so even a mutation is
# safe to resend; 500/504 or a read timeout may have executed it (a second discount).
_RETRY_ANY = frozenset({502, 503})
_RETRY_QUERIES_ONLY = frozenset({500, 504})


class AdminClient:
    """Admin GraphQL API client for one shop and one pinned API version.

    ``token_provider`` is asked for the token on every attempt (so a token refreshed
    elsewhere is picked up); on a 401, ``on_unauthorized`` is called once per
    ``execute`` and must return a fresh token (refresh an expiring offline token)
    or raise. ``sleep`` and ``clock`` are injectable so tests never wait.
    """

    def __init__(self, shop_domain: str, api_version: str, token_provider: Callable[[], str], *,
                 admin_origin: str | None = None,
                 on_unauthorized: Callable[[], str] | None = None,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 max_retries: int = 4):
        shop = normalize_shop_domain(shop_domain)
        if shop is None:
            raise ValueError(f"not a myshopify.com shop domain: {shop_domain!r}")
        if not _API_VERSION.fullmatch(api_version or ""):
            raise ValueError(f"API version must look like 2025-10, got {api_version!r}")
        self.shop = shop
        self.api_version = api_version
        origin = (admin_origin or f"https://{shop}").rstrip("/")
        self.endpoint = f"{origin}/admin/api/{api_version}/graphql.json"
        self._token_provider = token_provider
        self._on_unauthorized = on_unauthorized
        self._refreshed_token: str | None = None
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._timeout = timeout
        self._max_retries = max_retries
        self._resume_at = 0.0
        self.last_cost: Mapping[str, Any] | None = None

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``; raise a ``ShopifyError`` otherwise."""
        operation = _operation_name(query)
        is_mutation = _is_mutation(query)
        payload: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
        refreshed = False
        attempt = 0
        while True:
            self._wait_for_bucket()
            token = self._token()
            try:
                response = self._session.post(self.endpoint, json=payload, timeout=self._timeout,
                                              headers=self._headers(token))
            except requests.ConnectionError as exc:  # includes ConnectTimeout: never sent
                attempt = self._backoff_or_raise(attempt, operation, 0, exc)
                continue
            except requests.Timeout as exc:  # read timeout: a mutation may have run
                if is_mutation:
                    raise ShopifyHTTPError(0, "timed out waiting for Shopify", shop=self.shop) from exc
                attempt = self._backoff_or_raise(attempt, operation, 0, exc)
                continue

            status = response.status_code
            if status == 401:
                self._log(operation, status)
                if self._on_unauthorized is None or refreshed:
                    raise ShopifyUnauthorized(self._excerpt(response, token), shop=self.shop)
                refreshed = True
                self._refreshed_token = self._on_unauthorized()
                continue
            if status == 429:
                self._log(operation, status)
                attempt = self._throttle_or_raise(attempt, _retry_after(response))
                continue
            if status in _RETRY_ANY or (status in _RETRY_QUERIES_ONLY and not is_mutation):
                self._log(operation, status)
                attempt = self._backoff_or_raise(attempt, operation, status,
                                                 excerpt_text=self._excerpt(response, token))
                continue
            if status != 200:
                self._log(operation, status)
                raise ShopifyHTTPError(status, self._excerpt(response, token), shop=self.shop)

            body = _json(response, self.shop, self._excerpt(response, token))
            cost = (body.get("extensions") or {}).get("cost")
            errors = body.get("errors") or []
            if errors and _is_throttled(errors):  # the wait below already refills the bucket
                self._log(operation, "THROTTLED", cost)
                attempt = self._throttle_or_raise(attempt, _wait_from_cost(cost))
                continue
            self._note_cost(cost)
            self._log(operation, status, cost)
            if errors and _has_code(errors, "MAX_COST_EXCEEDED"):
                log.error("shopify query too costly shop=%s operation=%s", self.shop, operation)
                raise ShopifyQueryTooCostly(errors, operation=operation,
                                            requested=(cost or {}).get("requestedQueryCost"))
            if errors:
                raise ShopifyGraphQLError(errors)
            return body.get("data") or {}

    def mutate(self, query: str, variables: Mapping[str, Any] | None, result_key: str) -> dict[str, Any]:
        """Run a mutation and return ``data[result_key]``; raise ``ShopifyUserError`` on userErrors."""
        data = self.execute(query, variables)
        result = data.get(result_key)
        if result is None:
            raise ShopifyGraphQLError([{"message": f"response has no {result_key}"}])
        user_errors = result.get("userErrors") or []
        if user_errors:
            raise ShopifyUserError(user_errors, operation=result_key)
        return dict(result)

    # -- internals -------------------------------------------------------------

    def _token(self) -> str:
        return self._refreshed_token or self._token_provider()

    def _headers(self, token: str) -> dict[str, str]:
        return {"X-Shopify-Access-Token": token, "Content-Type": "application/json",
                "Accept": "application/json"}

    def _excerpt(self, response: requests.Response, token: str) -> str:
        return excerpt(response.text, secrets=(token,))

    def _backoff_or_raise(self, attempt: int, operation: str, status: int,
                          exc: Exception | None = None, excerpt_text: str = "") -> int:
        if attempt >= self._max_retries:
            detail = excerpt_text or (exc.__class__.__name__ if exc else "")
            raise ShopifyHTTPError(status, detail, shop=self.shop) from exc
        delay = min(_BACKOFF_BASE_SECONDS * 2 ** attempt, _MAX_BACKOFF_SECONDS)
        log.warning("shopify retry shop=%s operation=%s status=%s in=%.1fs",
                    self.shop, operation, status or type(exc).__name__, delay)
        self._sleep(delay)
        return attempt + 1

    def _throttle_or_raise(self, attempt: int, wait: float) -> int:
        if attempt >= self._max_retries:
            raise ShopifyThrottled(self.shop, retry_after=wait)
        self._sleep(wait)
        return attempt + 1

    def _note_cost(self, cost: Mapping[str, Any] | None) -> None:
        """Remember when the bucket will be comfortable again, to pause before the next call."""
        if not cost:
            return
        self.last_cost = cost
        status = cost.get("throttleStatus") or {}
        try:
            available = float(status["currentlyAvailable"])
            maximum = float(status["maximumAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        low_water = maximum * _LOW_WATER_FRACTION
        if rate > 0 and available < low_water:
            self._resume_at = self._clock() + (low_water - available) / rate

    def _wait_for_bucket(self) -> None:
        remaining = self._resume_at - self._clock()
        if remaining > 0:
            log.info("shopify pacing shop=%s wait=%.2fs", self.shop, remaining)
            self._sleep(remaining)
        self._resume_at = 0.0

    def _log(self, operation: str, status: object, cost: Mapping[str, Any] | None = None) -> None:
        actual = (cost or {}).get("actualQueryCost")
        available = ((cost or {}).get("throttleStatus") or {}).get("currentlyAvailable")
        log.info("shopify graphql shop=%s operation=%s status=%s cost=%s available=%s",
                 self.shop, operation, status, actual, available)


def _operation_name(query: str) -> str:
    match = _OPERATION.search(_strip_comments(query))
    if not match:
        return "anonymous"
    return match.group(2) or match.group(1)


def _is_mutation(query: str) -> bool:
    match = _OPERATION.search(_strip_comments(query))
    return bool(match and match.group(1) == "mutation")


def _strip_comments(query: str) -> str:
    return re.sub(r"#[^\n]*", "", query)


def _is_throttled(errors: list[Mapping[str, Any]]) -> bool:
    return _has_code(errors, "THROTTLED")


def _has_code(errors: list[Mapping[str, Any]], code: str) -> bool:
    return any(isinstance(e, Mapping) and (e.get("extensions") or {}).get("code") == code for e in errors)


def _wait_from_cost(cost: Mapping[str, Any] | None) -> float:
    """Seconds until the bucket holds the requested cost again (1 s if Shopify did not say)."""
    try:
        status = cost["throttleStatus"]  # type: ignore[index]
        deficit = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])  # type: ignore[index]
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(deficit / rate, 1.0 / rate)


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _json(response: requests.Response, shop: str, body_excerpt: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ShopifyHTTPError(response.status_code, "response is not JSON: " + body_excerpt,
                               shop=shop) from None
    if not isinstance(body, dict):
        raise ShopifyError(f"unexpected GraphQL response from {shop}")
    return body
