"""/v1/openapi.json stays true: every /v1 route in app.url_map is documented (and nothing else),
and real answers of every operation match the documented response schemas (jsonschema,
OpenAPI 3.1 schemas being JSON Schema 2020-12)."""
from __future__ import annotations

import re

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.integration.open_api.support import ANA, auth, create_key, shop_with_actions

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _documented(client) -> dict:
    response = client.get("/v1/openapi.json")  # public: no key needed
    assert response.status_code == 200
    return response.get_json()


def test_every_v1_route_is_documented_and_every_documented_route_exists(client):
    doc = _documented(client)
    assert doc["openapi"].startswith("3.1")
    routed = set()
    for rule in client.application.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routed |= {(path, m.lower()) for m in rule.methods & METHODS}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item if method.upper() in METHODS}
    assert routed == documented
    for path, method in documented:
        operation = doc["paths"][path][method]
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert params == set(re.findall(r"{(\w+)}", path)), (path, method)
        if method == "post":
            assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}, path
        if path != "/v1/openapi.json":
            assert "401" in operation["responses"] and operation.get("security") != []


def _validator(doc: dict, path: str, method: str, status: int):
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:embajador:openapi", DRAFT202012.create_resource(doc))
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "$ref": "urn:embajador:openapi#" + schema["$ref"][1:]} if "$ref" in schema else schema
    return jsonschema.validators.Draft202012Validator(wrapped, registry=registry,
                                                      format_checker=jsonschema.FormatChecker())


def test_answers_match_the_documented_schemas(client, app_state, fake_admin):
    shop_with_actions(app_state, client)
    key = create_key(client)
    doc = _documented(client)
    calls = [
        ("get", "/v1/customers/{customer}", f"/v1/customers/{ANA}", None, None),
        ("get", "/v1/customers/{customer}", "/v1/customers/404", None, None),
        ("get", "/v1/customers", "/v1/customers?email=ana@example.com", None, None),
        ("get", "/v1/customers", "/v1/customers", None, None),
        ("get", "/v1/customers/{customer}/ledger", f"/v1/customers/{ANA}/ledger", None, None),
        ("get", "/v1/rewards", "/v1/rewards", None, None),
        ("get", "/v1/actions", "/v1/actions", None, None),
        ("post", "/v1/customers/{customer}/adjust", f"/v1/customers/{ANA}/adjust", {"points": 900, "reason": "r"}, "a1"),
        ("post", "/v1/customers/{customer}/adjust", f"/v1/customers/{ANA}/adjust", {"points": 1, "reason": "r"}, "a1"),
        ("post", "/v1/customers/{customer}/adjust", f"/v1/customers/{ANA}/adjust", {"points": 1}, "a2"),
        ("post", "/v1/customers/{customer}/actions/{action_id}", f"/v1/customers/{ANA}/actions/review", None, "r1"),
        ("post", "/v1/customers/{customer}/actions/{action_id}", f"/v1/customers/{ANA}/actions/review", None, "r2"),
        ("post", "/v1/customers/{customer}/actions/{action_id}", f"/v1/customers/{ANA}/actions/nope", None, "r3"),
        ("post", "/v1/customers/{customer}/redeem", f"/v1/customers/{ANA}/redeem", {"reward_id": "5off"}, "d1"),
        ("post", "/v1/customers/{customer}/redeem", f"/v1/customers/{ANA}/redeem", {"reward_id": "10pct"}, "d2"),
        ("get", "/v1/rewards", "/v1/rewards", None, "unauthenticated"),
    ]
    seen = set()
    for method, template, url, body, idem in calls:
        headers = {} if idem == "unauthenticated" else auth(key, idem if method == "post" else None)
        response = getattr(client, method)(url, json=body, headers=headers) if method == "post" else \
            client.get(url, headers=headers)
        _validator(doc, template, method, response.status_code).validate(response.get_json())
        seen.add((template, method, response.status_code))
    # the calls above reached success and refusal answers of every operation
    assert {(t, m) for t, m, s in seen if s in (200, 201)} == {
        (p, m) for p, item in doc["paths"].items() for m in item if p != "/v1/openapi.json"}
    assert {s for *_, s in seen} == {200, 201, 400, 401, 404, 409, 422}
    # and the check bites: a customer answer missing its balance is refused
    customer = client.get(f"/v1/customers/{ANA}", headers=auth(key)).get_json()
    del customer["points"]
    assert list(_validator(doc, "/v1/customers/{customer}", "get", 200).iter_errors(customer))


def test_unknown_v1_paths_and_methods_answer_json_and_other_paths_do_not_change(client):
    missing = client.get("/v1/nope")
    assert missing.status_code == 404 and "openapi.json" in missing.get_json()["error"]
    wrong_method = client.delete("/v1/rewards")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert client.get("/no-such-page").status_code == 404 and not client.get("/no-such-page").is_json
