"""Admin operations: shop profile, webhook subscriptions, reward codes, metafields, checkouts, bulk."""
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from shopify_support import ENDPOINT, fixture_path, gql_ok, sent_json

from plugin.shopify.abandoned_checkouts import fetch_abandoned_checkouts
from plugin.shopify.bulk_operations import bulk_operation_status, iter_bulk_results, start_bulk_query
from plugin.shopify.discounts import create_discount_code
from plugin.shopify.errors import ShopifyGraphQLError, ShopifyUserError
from plugin.shopify.gids import customer_gid, gid, parse_gid
from plugin.shopify.metafields import MetafieldInput, set_customer_metafields
from plugin.shopify.shop_profile import ShopProfile, fetch_shop_profile
from plugin.shopify.webhook_subscriptions import register_webhooks, topic_enum

CALLBACK = "https://embajador.example/webhooks"
STARTS = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# -- ids -------------------------------------------------------------------------------

def test_ids_above_two_to_the_53_survive_exactly_from_a_real_webhook():
    order = json.loads(fixture_path("shopify/webhooks/orders__paid.json").read_text())
    customer = order["customer"]
    assert customer_gid(customer["id"]) == customer["admin_graphql_api_id"]
    assert customer_gid(customer["admin_graphql_api_id"]) == customer["admin_graphql_api_id"]
    assert parse_gid(order["admin_graphql_api_id"]) == ("Order", str(order["id"]))


@pytest.mark.parametrize("bad", [1.5e17, "12abc", "", True, -3])
def test_a_customer_id_that_is_not_an_integer_is_refused(bad):
    with pytest.raises(ValueError):
        customer_gid(bad)


def test_a_gid_of_another_resource_is_not_taken_for_a_customer():
    with pytest.raises(ValueError):
        customer_gid("gid://shopify/Order/1")
    with pytest.raises(ValueError):
        parse_gid("shopify/Customer/1")
    assert gid("DiscountCodeNode", "7") == "gid://shopify/DiscountCodeNode/7"


# -- shop profile ----------------------------------------------------------------------

SHOP_DATA = {"shop": {"name": "Tienda Andina", "email": "hola@tienda.cl", "currencyCode": "CLP",
                      "ianaTimezone": "America/Santiago",
                      "plan": {"publicDisplayName": "Grow", "partnerDevelopment": False,
                               "shopifyPlus": False}}}


def test_the_shop_profile_gives_currency_locale_and_timezone(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok(SHOP_DATA))
    rsps.post(ENDPOINT, json=gql_ok({"shopLocales": [{"locale": "en", "primary": False},
                                                     {"locale": "es", "primary": True}]}))
    assert fetch_shop_profile(client) == ShopProfile(
        name="Tienda Andina", email="hola@tienda.cl", currency_code="CLP", primary_locale="es",
        iana_timezone="America/Santiago", plan="Grow")


def test_a_missing_locales_scope_does_not_lose_the_rest_of_the_profile(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok(SHOP_DATA))
    rsps.post(ENDPOINT, json={"errors": [{"message": "Access denied for shopLocales field.",
                                          "extensions": {"code": "ACCESS_DENIED"}}]})
    profile = fetch_shop_profile(client)
    assert profile.primary_locale is None and profile.currency_code == "CLP"


def test_other_profile_errors_are_not_swallowed(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok(SHOP_DATA))
    rsps.post(ENDPOINT, json={"errors": [{"message": "Internal error",
                                          "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
    with pytest.raises(ShopifyGraphQLError):
        fetch_shop_profile(client)


# -- webhook subscriptions -------------------------------------------------------------

def existing(nodes, has_next=False, cursor=None):
    return gql_ok({"webhookSubscriptions": {"nodes": nodes,
                                            "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}})


def created(n):
    return gql_ok({"webhookSubscriptionCreate": {
        "webhookSubscription": {"id": f"gid://shopify/WebhookSubscription/{n}", "topic": "X", "uri": CALLBACK},
        "userErrors": []}})


def test_topics_become_graphql_enums_and_compliance_topics_are_refused():
    assert topic_enum("orders/paid") == "ORDERS_PAID"
    assert topic_enum("App/Uninstalled") == "APP_UNINSTALLED"
    assert topic_enum("customers/update") == "CUSTOMERS_UPDATE"
    with pytest.raises(ValueError, match="shopify.app.toml"):
        topic_enum("customers/redact")
    with pytest.raises(ValueError):
        topic_enum("orders paid")


def test_registering_webhooks_twice_creates_nothing_twice(rsps, client):
    rsps.post(ENDPOINT, json=existing([
        {"id": "gid://shopify/WebhookSubscription/1", "topic": "ORDERS_PAID", "uri": CALLBACK},
        {"id": "gid://shopify/WebhookSubscription/2", "topic": "ORDERS_CREATE",
         "uri": "https://old-host.example/webhooks"},
    ]))
    rsps.post(ENDPOINT, json=created(10))
    rsps.post(ENDPOINT, json=created(11))
    result = register_webhooks(client, CALLBACK, ["orders/paid", "orders/create", "app/uninstalled",
                                                  "orders/paid"])
    assert result == ["gid://shopify/WebhookSubscription/10", "gid://shopify/WebhookSubscription/11"]
    listing = sent_json(rsps.calls[0])["variables"]
    assert listing == {"topics": ["ORDERS_PAID", "ORDERS_CREATE", "APP_UNINSTALLED"], "after": None}
    assert [sent_json(c)["variables"] for c in rsps.calls[1:]] == [
        {"topic": "ORDERS_CREATE", "webhookSubscription": {"uri": CALLBACK, "format": "JSON"}},
        {"topic": "APP_UNINSTALLED", "webhookSubscription": {"uri": CALLBACK, "format": "JSON"}},
    ]
    assert "callbackUrl" not in rsps.calls[1].request.body.decode()


def test_existing_subscriptions_are_read_across_pages(rsps, client):
    rsps.post(ENDPOINT, json=existing([{"id": "1", "topic": "ORDERS_PAID", "uri": CALLBACK}], True, "c1"))
    rsps.post(ENDPOINT, json=existing([{"id": "2", "topic": "REFUNDS_CREATE", "uri": CALLBACK}]))
    assert register_webhooks(client, CALLBACK, ["orders/paid", "refunds/create"]) == []
    assert sent_json(rsps.calls[1])["variables"]["after"] == "c1"


def test_a_refused_subscription_is_reported_with_its_field(rsps, client):
    rsps.post(ENDPOINT, json=existing([]))
    rsps.post(ENDPOINT, json=gql_ok({"webhookSubscriptionCreate": {
        "webhookSubscription": None,
        "userErrors": [{"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}]}}))
    with pytest.raises(ShopifyUserError, match="webhookSubscription.uri: Address is invalid"):
        register_webhooks(client, "http://localhost/webhooks", ["orders/paid"])


# -- reward discount codes -------------------------------------------------------------

def discount_created(key="discountCodeBasicCreate", node="gid://shopify/DiscountCodeNode/99"):
    return gql_ok({key: {"codeDiscountNode": {"id": node}, "userErrors": []}})


def test_a_fixed_amount_reward_is_bound_to_exactly_this_customer(rsps, client):
    rsps.post(ENDPOINT, json=discount_created())
    result = create_discount_code(
        client, title="Embajador $5.000", code="EMB-7K2Q", customer_gid="115310627314723954",
        kind="fixed_amount", amount=Decimal("5000"), starts_at=STARTS,
        ends_at=STARTS + timedelta(days=30))
    assert (result.code, result.node_gid) == ("EMB-7K2Q", "gid://shopify/DiscountCodeNode/99")
    sent = sent_json(rsps.calls[0])
    assert "discountCodeBasicCreate(basicCodeDiscount:" in sent["query"]
    assert sent["variables"] == {"basicCodeDiscount": {
        "title": "Embajador $5.000",
        "code": "EMB-7K2Q",
        "startsAt": "2026-11-23T12:00:00+00:00",
        "endsAt": "2026-12-23T12:00:00+00:00",
        "context": {"customers": {"add": ["gid://shopify/Customer/115310627314723954"]}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "customerGets": {"value": {"discountAmount": {"amount": "5000", "appliesOnEachItem": False}},
                         "items": {"all": True}},
    }}
    assert "customerSelection" not in json.dumps(sent["variables"])  # deprecated since 2025-10


def test_a_referral_percentage_code_for_anyone_with_a_minimum_subtotal(rsps, client):
    rsps.post(ENDPOINT, json=discount_created())
    create_discount_code(client, title="Amigo 10%", code="AMIGO-ANA", customer_gid=None,
                         kind="percentage", percentage=Decimal("0.10"), min_subtotal=Decimal("19990.50"),
                         starts_at=STARTS, usage_limit=None, applies_once_per_customer=True)
    variables = sent_json(rsps.calls[0])["variables"]["basicCodeDiscount"]
    assert variables["context"] == {"all": "ALL"}
    assert variables["customerGets"]["value"] == {"percentage": 0.1}
    assert variables["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "19990.5"}}
    assert variables["usageLimit"] is None and variables["endsAt"] is None


def test_a_free_shipping_reward_uses_the_free_shipping_mutation(rsps, client):
    rsps.post(ENDPOINT, json=discount_created("discountCodeFreeShippingCreate", "gid://shopify/DiscountCodeNode/5"))
    result = create_discount_code(client, title="Envío gratis", code="ENVIO-1", customer_gid="gid://shopify/Customer/8",
                                  kind="free_shipping", starts_at=STARTS,
                                  combines_with={"productDiscounts": True})
    sent = sent_json(rsps.calls[0])
    assert "discountCodeFreeShippingCreate(freeShippingCodeDiscount:" in sent["query"]
    discount = sent["variables"]["freeShippingCodeDiscount"]
    assert discount["destination"] == {"all": True}
    assert discount["context"] == {"customers": {"add": ["gid://shopify/Customer/8"]}}
    assert discount["combinesWith"] == {"productDiscounts": True}
    assert "customerGets" not in discount
    assert result.node_gid == "gid://shopify/DiscountCodeNode/5"


def test_a_duplicate_code_is_reported_not_silently_ignored(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [
        {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]}}))
    with pytest.raises(ShopifyUserError) as err:
        create_discount_code(client, title="t", code="DUP", customer_gid=None, kind="fixed_amount",
                             amount=Decimal("1"), starts_at=STARTS)
    assert err.value.codes == {"TAKEN"}


@pytest.mark.parametrize("kwargs", [
    {"kind": "fixed_amount", "amount": 5000.0},              # float money
    {"kind": "fixed_amount", "amount": None},
    {"kind": "fixed_amount", "amount": Decimal("-1")},
    {"kind": "percentage", "percentage": Decimal("10")},      # 10 means 1000%
    {"kind": "percentage", "percentage": Decimal("0")},
    {"kind": "bogus"},
    {"kind": "fixed_amount", "amount": Decimal("1"), "starts_at": datetime(2026, 1, 1)},  # naive
])
def test_an_impossible_reward_is_refused_before_calling_shopify(rsps, client, kwargs):
    args = {"title": "t", "code": "C", "customer_gid": None, "starts_at": STARTS, **kwargs}
    with pytest.raises(ValueError):
        create_discount_code(client, **args)
    assert len(rsps.calls) == 0


# -- metafields ------------------------------------------------------------------------

def metafields_ok():
    return gql_ok({"metafieldsSet": {"metafields": [], "userErrors": []}})


def test_metafields_are_written_in_batches_of_at_most_25(rsps, client):
    rsps.post(ENDPOINT, json=metafields_ok())
    rsps.post(ENDPOINT, json=metafields_ok())
    items = [MetafieldInput(f"gid://shopify/Customer/{n}", "embajador", "points", "number_integer", str(n * 10))
             for n in range(30)]
    set_customer_metafields(client, items)
    batches = [sent_json(c)["variables"]["metafields"] for c in rsps.calls]
    assert [len(b) for b in batches] == [25, 5]
    assert batches[0][0] == {"ownerId": "gid://shopify/Customer/0", "namespace": "embajador",
                             "key": "points", "type": "number_integer", "value": "0"}
    assert batches[1][-1]["value"] == "290"


def test_compare_and_set_sends_the_digest(rsps, client):
    rsps.post(ENDPOINT, json=metafields_ok())
    set_customer_metafields(client, [MetafieldInput("gid://shopify/Customer/1", "embajador", "tier",
                                                    "single_line_text_field", "Oro", compare_digest="abc")])
    assert sent_json(rsps.calls[0])["variables"]["metafields"][0]["compareDigest"] == "abc"


def test_no_metafields_means_no_call_and_bad_values_are_refused(rsps, client):
    set_customer_metafields(client, [])
    with pytest.raises(ValueError):
        set_customer_metafields(client, [MetafieldInput("gid://shopify/Customer/1", "e", "p",
                                                        "number_integer", 5)])
    assert len(rsps.calls) == 0


def test_a_refused_metafield_names_its_field(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"metafieldsSet": {"metafields": None, "userErrors": [
        {"field": ["metafields", "0", "value"], "code": "INVALID_VALUE", "message": "Value must be an integer."}]}}))
    with pytest.raises(ShopifyUserError, match="metafields.0.value: Value must be an integer."):
        set_customer_metafields(client, [MetafieldInput("gid://shopify/Customer/1", "e", "p",
                                                        "number_integer", "x")])


# -- abandoned checkouts ---------------------------------------------------------------

def checkout_page(nodes, has_next, cursor=None):
    return gql_ok({"abandonedCheckouts": {"nodes": nodes,
                                          "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}}})


def test_abandoned_checkouts_are_read_page_by_page_with_email_under_customer(rsps, client):
    first = {"id": "gid://shopify/AbandonedCheckout/1", "completedAt": None,
             "abandonedCheckoutUrl": "https://tienda.cl/checkouts/recover/1",
             "customer": {"id": "gid://shopify/Customer/603851970716743426", "email": "ana@example.cl"}}
    second = dict(first, id="gid://shopify/AbandonedCheckout/2", customer=None)
    rsps.post(ENDPOINT, json=checkout_page([first], True, "cur1"))
    rsps.post(ENDPOINT, json=checkout_page([second], False))
    since = datetime(2026, 11, 20, tzinfo=UTC)
    checkouts = list(fetch_abandoned_checkouts(client, since))
    assert [c["id"] for c in checkouts] == [first["id"], second["id"]]
    assert checkouts[0]["customer"]["email"] == "ana@example.cl"
    first_vars, second_vars = (sent_json(c)["variables"] for c in rsps.calls)
    assert first_vars == {"first": 6, "lines": 10, "after": None,
                          "query": "updated_at:>='2026-11-20T00:00:00+00:00'"}
    assert second_vars["after"] == "cur1"
    assert "customer { id email" in sent_json(rsps.calls[0])["query"]


def test_a_checkout_with_more_lines_than_a_page_reads_the_rest_through_its_node(rsps, client):
    line = {"title": "Poncho", "quantity": 1, "variantTitle": None, "image": None,
            "originalUnitPriceSet": {"shopMoney": {"amount": "10.0", "currencyCode": "CLP"}}}
    node = {"id": "gid://shopify/AbandonedCheckout/7", "completedAt": None, "customer": None,
            "abandonedCheckoutUrl": "https://tienda.cl/checkouts/recover/7",
            "lineItems": {"nodes": [line] * 10, "pageInfo": {"hasNextPage": True, "endCursor": "L10"}}}
    rsps.post(ENDPOINT, json=checkout_page([node], False))
    rsps.post(ENDPOINT, json=gql_ok({"node": {"lineItems": {
        "nodes": [dict(line, title="Gorro")] * 3, "pageInfo": {"hasNextPage": False, "endCursor": "L13"}}}}))
    (checkout,) = fetch_abandoned_checkouts(client, datetime(2026, 11, 20, tzinfo=UTC))
    assert len(checkout["lineItems"]["nodes"]) == 13
    assert checkout["lineItems"]["nodes"][-1]["title"] == "Gorro"
    assert sent_json(rsps.calls[1])["variables"] == {"id": node["id"], "first": 50, "after": "L10"}


def test_abandoned_checkouts_need_an_aware_datetime(client):
    with pytest.raises(ValueError):
        next(fetch_abandoned_checkouts(client, datetime(2026, 11, 20)))


# -- bulk operations -------------------------------------------------------------------

def test_a_backfill_starts_polls_and_streams_a_bulk_query(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"bulkOperationRunQuery": {
        "bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"}, "userErrors": []}}))
    rsps.post(ENDPOINT, json=gql_ok({"node": {"id": "gid://shopify/BulkOperation/1", "status": "COMPLETED",
                                              "errorCode": None, "objectCount": "2",
                                              "url": "https://storage.example/result.jsonl",
                                              "partialDataUrl": None}}))
    rsps.get("https://storage.example/result.jsonl",
             body='{"id":"gid://shopify/Customer/1"}\n\n{"id":"gid://shopify/Customer/2"}\n')
    operation_id = start_bulk_query(client, "{ customers { edges { node { id } } } }")
    assert sent_json(rsps.calls[0])["variables"] == {"query": "{ customers { edges { node { id } } } }"}
    status = bulk_operation_status(client, operation_id)
    assert status.finished and status.object_count == 2
    rows = list(iter_bulk_results(status.url))
    assert rows == [{"id": "gid://shopify/Customer/1"}, {"id": "gid://shopify/Customer/2"}]


def test_a_second_concurrent_bulk_query_is_refused_with_shopifys_reason(rsps, client):
    rsps.post(ENDPOINT, json=gql_ok({"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
        {"field": None, "message": "A bulk query operation for this app and shop is already in progress"}]}}))
    with pytest.raises(ShopifyUserError, match="already in progress"):
        start_bulk_query(client, "{ customers { edges { node { id } } } }")
