"""A local stand-in for Shopify's OAuth and Admin GraphQL endpoints.

Used by the demo and the tests through ``SHOPIFY_ADMIN_ORIGIN`` (it never runs in
production: the config refuses that variable there). It answers the operations the app
really sends, checks the access token like Shopify does, and records every call so
tests can assert what reached "Shopify".
"""
from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import responses as responses_lib
from werkzeug.serving import make_server

OPERATIONS = ("shopLocales", "shop", "webhookSubscriptions", "webhookSubscriptionCreate",
              "discountCodeBasicCreate", "discountCodeFreeShippingCreate", "metafieldsSet",
              "abandonedCheckouts", "bulkOperationRunQuery", "node", "codeDiscountNodeByCode", "orders",
              "customer", "customerEmailMarketingConsentUpdate")
# Root fields whose name also appears as a nested selection elsewhere: matched with arguments only.
_WITH_ARGUMENTS = {"customer", "node"}


@dataclass
class FakeShopify:
    api_key: str
    api_secret: str
    shop_name: str = "Tienda Demo"
    currency: str = "USD"
    locale: str = "en"
    token_lifetime: int | None = 3600
    calls: list[tuple[str, dict]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    subscriptions: list[dict] = field(default_factory=list)
    discounts: list[dict] = field(default_factory=list)
    metafields: list[dict] = field(default_factory=list)
    abandoned_checkouts: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    # Customers as the Admin API shows them, by numeric id: email, firstName, lastName, locale,
    # numberOfOrders, emailMarketingConsent {marketingState, ...}, birthDate {value}.
    customers: dict[str, dict] = field(default_factory=dict)
    bulk_results: list[dict] = field(default_factory=list)
    bulk_url: str | None = None
    refuse: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1000))
    _lock: Any = field(default_factory=threading.Lock)

    # --- what tests and the demo arrange -------------------------------------------------
    def grant_code(self, shop: str) -> str:
        code = secrets.token_hex(8)
        self.codes[code] = shop
        return code

    def issue_token(self, shop: str) -> str:
        token = "shpat_" + secrets.token_hex(12)
        self.tokens[token] = shop
        return token

    def operations(self, name: str) -> list[dict]:
        return [variables for op, variables in self.calls if op == name]

    # --- HTTP ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        with self._lock:
            if method == "POST" and path == "/admin/oauth/access_token":
                return self._token_endpoint(_parse_body(headers, body))
            if method == "POST" and re.fullmatch(r"/admin/api/\d{4}-\d{2}/graphql\.json", path):
                if headers.get("X-Shopify-Access-Token") not in self.tokens:
                    return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
                request = json.loads(body or b"{}")
                return 200, self._graphql(request.get("query", ""), request.get("variables") or {})
            return 404, {"errors": "Not Found"}

    def bulk_jsonl(self) -> bytes:
        return b"".join(json.dumps(row).encode() + b"\n" for row in self.bulk_results)

    def wsgi(self, environ, start_response):
        if environ.get("PATH_INFO") == "/bulk/result.jsonl":
            data = self.bulk_jsonl()
            start_response("200 OK", [("Content-Type", "application/jsonl"), ("Content-Length", str(len(data)))])
            return [data]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        headers = {("X-Shopify-Access-Token" if k.lower() == "x-shopify-access-token" else k): v
                   for k, v in headers.items()}
        status, payload = self.handle(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), headers, body)
        data = json.dumps(payload).encode()
        start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def serve(self) -> tuple[str, Any]:
        """Serve on 127.0.0.1 in a daemon thread; returns (origin, server) — call server.shutdown()."""
        server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        origin = f"http://127.0.0.1:{server.server_port}"
        self.bulk_url = f"{origin}/bulk/result.jsonl"
        return origin, server

    # --- OAuth --------------------------------------------------------------------------
    def _token_endpoint(self, form: dict) -> tuple[int, dict]:
        if form.get("client_id") != self.api_key or form.get("client_secret") != self.api_secret:
            return 400, {"error": "invalid_client"}
        grant = form.get("grant_type", "authorization_code")
        if grant == "refresh_token":
            shop = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        elif grant.endswith("token-exchange"):
            shop = "exchanged"
        else:
            shop = self.codes.pop(form.get("code", ""), None)
        if shop is None:
            return 400, {"error": "invalid_request",
                         "error_description": "The authorization code was not found or was already used"}
        self.calls.append(("oauth:" + grant.rsplit(":", 1)[-1], {k: v for k, v in form.items() if "secret" not in k}))
        token = self.issue_token(shop)
        answer: dict[str, Any] = {"access_token": token, "scope": "read_customers,write_customers,read_orders,write_discounts"}
        if self.token_lifetime and form.get("expiring") == "1" or grant == "refresh_token":
            refresh = "shprt_" + secrets.token_hex(12)
            self.refresh_tokens[refresh] = shop
            answer.update(expires_in=self.token_lifetime or 3600, refresh_token=refresh,
                          refresh_token_expires_in=90 * 24 * 3600)
        return 200, answer

    # --- GraphQL ------------------------------------------------------------------------
    def _graphql(self, query: str, variables: dict) -> dict:
        body = query[query.index("{") + 1:] if "{" in query else query
        data: dict = {}
        for name in (op for op in OPERATIONS
                     if re.search(rf"\b{op}\s*\(" if op in _WITH_ARGUMENTS else rf"\b{op}\s*[({{]", body)):
            self.calls.append((name, variables))
            if name in self.refuse:
                data[name] = {"userErrors": [{"field": ["input"], "message": f"{name} refused by the test"}]}
                continue
            if name == "node" and "AbandonedCheckout" in body:
                data[name] = {"lineItems": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}
                continue
            data[name] = getattr(self, "_op_" + name)(variables)
        return {"data": data, "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}}

    def _op_shop(self, _):
        return {"name": self.shop_name, "email": "owner@example.com", "currencyCode": self.currency,
                "ianaTimezone": "America/Santiago",
                "plan": {"publicDisplayName": "Basic", "partnerDevelopment": True, "shopifyPlus": False}}

    def _op_shopLocales(self, _):
        return [{"locale": self.locale, "primary": True}]

    def _op_webhookSubscriptions(self, variables):
        wanted = set(variables.get("topics") or [])
        nodes = [s for s in self.subscriptions if not wanted or s["topic"] in wanted]
        return {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}

    def _op_webhookSubscriptionCreate(self, variables):
        node = {"id": f"gid://shopify/WebhookSubscription/{next(self._ids)}", "topic": variables["topic"],
                "uri": variables["webhookSubscription"]["uri"],
                "metafieldNamespaces": list(variables["webhookSubscription"].get("metafieldNamespaces") or [])}
        self.subscriptions.append(node)
        return {"webhookSubscription": node, "userErrors": []}

    def _create_discount(self, discount: dict, kind: str) -> dict:
        if any(d["code"] == discount["code"] for d in self.discounts):
            return {"codeDiscountNode": None, "userErrors": [{"field": ["basicCodeDiscount", "code"],
                                                              "message": "Code must be unique.", "code": "TAKEN"}]}
        node_id = f"gid://shopify/DiscountCodeNode/{next(self._ids)}"
        self.discounts.append(dict(discount, kind=kind, id=node_id))
        return {"codeDiscountNode": {"id": node_id, "codeDiscount": {"codes": {"nodes": [{"code": discount["code"]}]}}},
                "userErrors": []}

    def _op_discountCodeBasicCreate(self, variables):
        return self._create_discount(variables["basicCodeDiscount"], "basic")

    def _op_discountCodeFreeShippingCreate(self, variables):
        return self._create_discount(variables["freeShippingCodeDiscount"], "free_shipping")

    def _op_codeDiscountNodeByCode(self, variables):
        found = next((d for d in self.discounts if d["code"] == variables.get("code")), None)
        return {"id": found["id"]} if found else None

    def _op_metafieldsSet(self, variables):
        items = variables["metafields"]
        self.metafields.extend(items)
        return {"metafields": [{"key": m["key"], "namespace": m["namespace"]} for m in items], "userErrors": []}

    def _op_abandonedCheckouts(self, _):
        nodes = list(self.abandoned_checkouts)
        return {"nodes": nodes, "edges": [{"node": n, "cursor": str(i)} for i, n in enumerate(nodes)],
                "pageInfo": {"hasNextPage": False, "endCursor": None}}

    def _op_orders(self, _):
        return {"nodes": list(self.orders), "pageInfo": {"hasNextPage": False, "endCursor": None}}
    def _op_customer(self, variables):
        numeric = str(variables.get("id", "")).rsplit("/", 1)[-1]
        found = self.customers.get(numeric)
        if found is None:
            return None
        return {"id": f"gid://shopify/Customer/{numeric}", "email": None, "firstName": None, "lastName": None,
                "locale": None, "numberOfOrders": "0", "emailMarketingConsent": None, "birthDate": None, **found}

    def _op_customerEmailMarketingConsentUpdate(self, variables):
        given = variables["input"]
        numeric = str(given["customerId"]).rsplit("/", 1)[-1]
        if numeric not in self.customers:
            return {"customer": None, "userErrors": [{"field": ["input", "customerId"], "message": "Customer not found"}]}
        self.customers[numeric]["emailMarketingConsent"] = dict(given["emailMarketingConsent"])
        return {"customer": {"id": given["customerId"]}, "userErrors": []}

    def _op_bulkOperationRunQuery(self, _):
        return {"bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"}, "userErrors": []}

    def _op_node(self, _):
        return {"id": "gid://shopify/BulkOperation/1", "status": "COMPLETED", "errorCode": None,
                "url": self.bulk_url if self.bulk_results else None, "objectCount": str(len(self.bulk_results))}


def _parse_body(headers: dict, body: bytes) -> dict:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in content_type:
        return {k: str(v) for k, v in json.loads(body or b"{}").items()}
    return dict(parse_qsl(body.decode()))


def install_into_responses(fake: FakeShopify, rsps, origin: str) -> None:
    """Route ``responses``-intercepted calls for ``origin`` to the fake (tests)."""

    def callback(request):
        path = request.path_url.split("?")[0]
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        status, payload = fake.handle(request.method, path, dict(request.headers), body)
        return status, {"Content-Type": "application/json"}, json.dumps(payload)

    pattern = re.compile(re.escape(origin) + r"/admin/.*")
    rsps.add_callback(responses_lib.POST, pattern, callback=callback)
    fake.bulk_url = f"{origin}/bulk/result.jsonl"
    rsps.add_callback(responses_lib.GET, fake.bulk_url,
                      callback=lambda request: (200, {"Content-Type": "application/jsonl"}, fake.bulk_jsonl()))
