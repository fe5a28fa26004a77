"""Verify (and, for tests and the demo, produce) the three signatures Shopify uses.

* Webhooks: base64 HMAC-SHA256 of the raw body in ``X-Shopify-Hmac-Sha256``.
* App Proxy: hex HMAC-SHA256 of the sorted ``k=v`` params concatenated with no separator.
* OAuth callback: hex HMAC-SHA256 of the sorted ``k=v`` params joined with ``&``.

Every comparison is constant-time. The OAuth canonical string comes from ShopifyAPI's
``Session.calculate_hmac`` (the reference implementation, including its ``ids[]`` and
escaping rules), called on a throw-away subclass that carries the secret: the library's
own ``Session.setup(secret=...)`` mutates a process-wide class attribute (racy across
tenants, threads and tests) and ``validate_params`` reads the wall clock with a 24 h
window, so freshness is checked here against an injected ``now`` instead.
Default freshness window: 90 s either way, as in Shopify's own JS library
(``HMAC_TIMESTAMP_PERMITTED_CLOCK_TOLERANCE_SEC``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import shopify

DEFAULT_MAX_AGE_SECONDS = 90
# Params Shopify sends once; a repeat would be joined with "," and could smuggle a value.
_SINGLE_VALUE_PARAMS = frozenset({"hmac", "shop", "signature", "timestamp"})

ParamValue = str | int | Sequence[str | int]
Params = Mapping[str, ParamValue] | Iterable[tuple[str, str]]


def sign_webhook(raw_body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``raw_body``."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(raw_body: bytes, hmac_header: str | None, secret: str) -> bool:
    """True when ``hmac_header`` is Shopify's signature of exactly these body bytes."""
    if not hmac_header or not secret:
        return False
    expected = sign_webhook(raw_body, secret).encode("ascii")
    return hmac.compare_digest(expected, hmac_header.strip().encode("utf-8"))


def sign_app_proxy(params: Params, secret: str) -> str:
    """The App Proxy ``signature`` for ``params`` (any ``signature`` among them is ignored)."""
    grouped = _group(params)
    grouped.pop("signature", None)
    message = "".join(sorted(f"{key}={','.join(values)}" for key, values in grouped.items()))
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_app_proxy(query_string: str | bytes, secret: str, now: int,
                     max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> bool:
    """True when an App Proxy query string is signed with ``secret`` and fresh at ``now``.

    ``query_string`` is the raw query (``request.query_string``, bytes or str), parsed
    here keeping blank values (``logged_in_customer_id=`` is signed as such for guests).
    """
    if not secret:
        return False
    if isinstance(query_string, bytes):
        query_string = query_string.decode("utf-8", "replace")
    pairs = parse_qsl(query_string.lstrip("?"), keep_blank_values=True)
    return _verify_signed(_group(pairs), "signature", sign_app_proxy, secret, now, max_age_seconds)


def sign_oauth_query(params: Params, secret: str) -> str:
    """The ``hmac`` Shopify puts on an OAuth callback / admin launch URL for ``params``."""
    prepared = _for_shopify_api(_group(params))
    signer: Any = type("_OAuthQuerySigner", (shopify.Session,), {"secret": secret})
    return str(signer.calculate_hmac(prepared))


def verify_oauth_query(params: Params, secret: str, now: int,
                       max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> bool:
    """True when OAuth callback params carry a valid ``hmac`` and a fresh ``timestamp``.

    ``params`` may be a mapping or the raw list of pairs (``request.args.items(multi=True)``);
    a repeated ``shop``/``timestamp``/``hmac`` is refused rather than guessed at.
    """
    if not secret:
        return False
    return _verify_signed(_group(params), "hmac", sign_oauth_query, secret, now, max_age_seconds)


def _verify_signed(grouped: dict[str, list[str]], field: str, sign: Callable[[dict[str, list[str]], str], str],
                   secret: str, now: int,
                   max_age_seconds: int) -> bool:
    """The checks both signed queries share: no repeated single values, a signature, a
    fresh timestamp, and a constant-time match with what ``sign`` computes."""
    if _has_repeated_single_values(grouped):
        return False
    provided = grouped.get(field, [""])[0]
    if not provided or not _is_fresh(grouped, now, max_age_seconds):
        return False
    return _equal_hex(sign(grouped, secret), provided)


def _group(params: Params) -> dict[str, list[str]]:
    """Params as ``{key: [values in order]}``, whatever shape they came in."""
    grouped: dict[str, list[str]] = {}
    if hasattr(params, "getlist"):  # werkzeug MultiDict: .items() would hide repeats
        items = params.items(multi=True)  # type: ignore[call-arg, union-attr]
    else:
        items = params.items() if isinstance(params, Mapping) else params
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        grouped.setdefault(str(key), []).extend(str(v) for v in values)
    return grouped


def _for_shopify_api(grouped: dict[str, list[str]]) -> dict[str, object]:
    """ShopifyAPI's input shape: ``ids[]`` keeps its list; other keys one value; no hmac/signature."""
    prepared: dict[str, object] = {}
    for key, values in grouped.items():
        if key in ("hmac", "signature"):
            continue
        prepared[key] = values if key.endswith("[]") else ",".join(values)
    return prepared


def _has_repeated_single_values(grouped: dict[str, list[str]]) -> bool:
    return any(len(grouped.get(key, ())) > 1 for key in _SINGLE_VALUE_PARAMS)


def _is_fresh(grouped: dict[str, list[str]], now: int, max_age_seconds: int) -> bool:
    try:
        timestamp = int(grouped["timestamp"][0])
    except (KeyError, IndexError, ValueError):
        return False
    return abs(int(now) - timestamp) <= max_age_seconds


def _equal_hex(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), provided.strip().lower().encode("utf-8"))
