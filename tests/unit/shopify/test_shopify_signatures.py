"""Signature checks against the platform's published vectors, plus forgeries."""
from urllib.parse import parse_qsl

import pytest

from plugin.shopify.signatures import (
    sign_app_proxy,
    sign_oauth_query,
    sign_webhook,
    verify_app_proxy,
    verify_oauth_query,
    verify_webhook,
)

APP_PROXY_TS = 1317327555


# -- webhooks --------------------------------------------------------------------------

def test_every_published_webhook_vector_verifies(signature_vectors):
    for vector in signature_vectors["webhook_hmac"]:
        body = vector["raw_body"].encode()
        header = vector["headers"]["X-Shopify-Hmac-Sha256"]
        assert verify_webhook(body, header, vector["secret"]) is vector["verified"]
        assert sign_webhook(body, vector["secret"]) == vector["expected_hmac_base64"]


def test_a_forged_or_altered_webhook_is_rejected(signature_vectors):
    vector = signature_vectors["webhook_hmac"][0]
    body, header, secret = vector["raw_body"].encode(), vector["expected_hmac_base64"], vector["secret"]
    assert not verify_webhook(body + b" ", header, secret)            # body changed in transit
    assert not verify_webhook(b'{"foo":"baz"}', header, secret)        # different payload
    assert not verify_webhook(body, header, "another-apps-secret")     # signed by someone else
    assert not verify_webhook(body, None, secret)                      # header missing
    assert not verify_webhook(body, "", secret)
    assert not verify_webhook(body, "not base64 ☃", secret)           # garbage does not raise
    assert not verify_webhook(body, header, "")                       # unconfigured secret


# -- App Proxy -------------------------------------------------------------------------

def test_every_published_app_proxy_vector_verifies_at_its_own_time(signature_vectors):
    for vector in signature_vectors["app_proxy_signature"]:
        assert verify_app_proxy(vector["query_string"], vector["secret"], now=APP_PROXY_TS) is vector["verified"]


def test_app_proxy_signer_reproduces_the_published_signatures(signature_vectors):
    for vector in signature_vectors["app_proxy_signature"]:
        pairs = parse_qsl(vector["query_string"], keep_blank_values=True)
        assert sign_app_proxy(pairs, vector["secret"]) == vector["expected_signature_hex"]


def test_a_guest_visitor_query_with_blank_customer_id_still_verifies(signature_vectors):
    guest = next(v for v in signature_vectors["app_proxy_signature"]
                 if "logged_in_customer_id=&" in v["query_string"])
    assert verify_app_proxy(guest["query_string"], guest["secret"], now=APP_PROXY_TS)
    # dropping the blank parameter changes the signed message, so it must fail
    tampered = guest["query_string"].replace("logged_in_customer_id=&", "")
    assert not verify_app_proxy(tampered, guest["secret"], now=APP_PROXY_TS)


def test_a_shopper_cannot_impersonate_another_customer_through_the_proxy(signature_vectors):
    vector = signature_vectors["app_proxy_signature"][0]
    assert "logged_in_customer_id=1&" in vector["query_string"]
    forged = vector["query_string"].replace("logged_in_customer_id=1&", "logged_in_customer_id=2&")
    assert not verify_app_proxy(forged, vector["secret"], now=APP_PROXY_TS)


def test_app_proxy_rejects_stale_future_unsigned_and_doubled_requests(signature_vectors):
    vector = signature_vectors["app_proxy_signature"][0]
    query, secret = vector["query_string"], vector["secret"]
    assert verify_app_proxy(query, secret, now=APP_PROXY_TS + 90)
    assert not verify_app_proxy(query, secret, now=APP_PROXY_TS + 91)    # replayed later
    assert not verify_app_proxy(query, secret, now=APP_PROXY_TS - 91)    # from the future
    assert verify_app_proxy(query, secret, now=APP_PROXY_TS + 3000, max_age_seconds=3600)
    assert not verify_app_proxy(query.split("&signature=")[0], secret, now=APP_PROXY_TS)
    assert not verify_app_proxy(query, "wrong-secret", now=APP_PROXY_TS)
    doubled_shop = query + "&shop=other.myshopify.com"
    assert not verify_app_proxy(doubled_shop, secret, now=APP_PROXY_TS)


def test_app_proxy_without_timestamp_is_rejected_even_if_correctly_signed():
    params = [("shop", "a.myshopify.com"), ("path_prefix", "/apps/x"), ("logged_in_customer_id", "7")]
    signature = sign_app_proxy(params, "s3cret")
    query = "shop=a.myshopify.com&path_prefix=%2Fapps%2Fx&logged_in_customer_id=7&signature=" + signature
    assert not verify_app_proxy(query, "s3cret", now=0)


def test_app_proxy_signature_round_trips_for_the_demo_and_benchmarks():
    params = {"shop": "a.myshopify.com", "logged_in_customer_id": "", "path_prefix": "/apps/embajador",
              "timestamp": "1700000000", "extra": ["1", "2"]}
    signature = sign_app_proxy(params, "s3cret")
    query = ("shop=a.myshopify.com&logged_in_customer_id=&path_prefix=%2Fapps%2Fembajador"
             f"&timestamp=1700000000&extra=1&extra=2&signature={signature}")
    assert verify_app_proxy(query, "s3cret", now=1700000010)
    assert verify_app_proxy("?" + query, "s3cret", now=1700000010)
    assert verify_app_proxy(query.replace(signature, signature.upper()), "s3cret", now=1700000010)


# -- OAuth callback query --------------------------------------------------------------

def test_oauth_vectors_sign_with_shopifys_documented_sorted_rule(signature_vectors):
    for vector in signature_vectors["oauth_query_hmac"]:
        computed = sign_oauth_query(vector["params"], vector["secret"])
        if vector.get("verified_with_sorted_message") is False:
            # PHP library quirk (insertion order): the documented sorted rule must NOT match it
            assert computed != vector["expected_hmac_hex"]
            assert computed == "0c9ded73155836612084bf27682edf1df74df66dc7d40c9682ebd06e68378ca3"
        else:
            assert computed == vector["expected_hmac_hex"]


def test_the_docs_callback_verifies_at_its_timestamp_and_not_a_day_later(signature_vectors):
    vector = signature_vectors["oauth_query_hmac"][0]
    params = dict(vector["params"], hmac=vector["expected_hmac_hex"])
    ts = int(params["timestamp"])
    assert verify_oauth_query(params, vector["secret"], now=ts)
    assert verify_oauth_query(list(params.items()), vector["secret"], now=ts + 30)
    assert not verify_oauth_query(params, vector["secret"], now=ts + 86400)


def test_the_php_quirk_hmac_is_refused(signature_vectors):
    vector = signature_vectors["oauth_query_hmac"][2]
    params = dict(vector["params"], hmac=vector["expected_hmac_hex"], timestamp="1700000000")
    assert not verify_oauth_query(params, vector["secret"], now=1700000000)


def test_a_tampered_oauth_callback_is_rejected(signature_vectors):
    vector = signature_vectors["oauth_query_hmac"][0]
    good = dict(vector["params"], hmac=vector["expected_hmac_hex"])
    ts = int(good["timestamp"])
    assert not verify_oauth_query(dict(good, shop="attacker.myshopify.com"), vector["secret"], now=ts)
    assert not verify_oauth_query(dict(good, code="stolen"), vector["secret"], now=ts)
    assert not verify_oauth_query({k: v for k, v in good.items() if k != "hmac"}, vector["secret"], now=ts)
    assert not verify_oauth_query(good, "not-the-secret", now=ts)
    doubled = list(good.items()) + [("shop", "attacker.myshopify.com")]
    assert not verify_oauth_query(doubled, vector["secret"], now=ts)


def test_oauth_signing_ignores_a_stray_signature_param_and_round_trips():
    params = {"code": "abc", "shop": "a.myshopify.com", "state": "n0nce", "timestamp": "1700000000",
              "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYQ"}
    mac = sign_oauth_query(params, "s3cret")
    assert mac == sign_oauth_query(dict(params, signature="whatever"), "s3cret")
    assert verify_oauth_query(dict(params, hmac=mac), "s3cret", now=1700000000)


def test_shopify_api_global_secret_is_left_untouched():
    import shopify
    before = shopify.Session.secret
    sign_oauth_query({"shop": "a.myshopify.com", "timestamp": "1"}, "tenant-secret")
    assert shopify.Session.secret == before


@pytest.mark.parametrize("bad_timestamp", ["", "abc", "1.5e9"])
def test_unparseable_timestamps_fail_closed(bad_timestamp):
    params = {"shop": "a.myshopify.com", "timestamp": bad_timestamp}
    params["hmac"] = sign_oauth_query(params, "s3cret")
    assert not verify_oauth_query(params, "s3cret", now=1700000000)


def test_flask_style_inputs_are_accepted(signature_vectors):
    from werkzeug.datastructures import MultiDict

    proxy = signature_vectors["app_proxy_signature"][0]
    assert verify_app_proxy(proxy["query_string"].encode(), proxy["secret"], now=APP_PROXY_TS)

    vector = signature_vectors["oauth_query_hmac"][0]
    args = MultiDict(dict(vector["params"], hmac=vector["expected_hmac_hex"]))
    ts = int(vector["params"]["timestamp"])
    assert verify_oauth_query(args, vector["secret"], now=ts)
    args.add("shop", "attacker.myshopify.com")  # a repeat hidden by MultiDict.items() is still seen
    assert not verify_oauth_query(args, vector["secret"], now=ts)
