"""Embedded admin authentication with App Bridge session tokens."""
import time
from datetime import UTC, datetime

import jwt
import jwt.api_jwt
import pytest

from plugin.shopify.session_tokens import InvalidSessionToken, decode_session_token

API_KEY = "embajador-client-id"
SECRET = "embajador-client-secret-0123456789abcdef"
SHOP = "tienda-chile.myshopify.com"


def mint(secret=SECRET, **overrides):
    now = int(time.time())
    claims = {"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY, "sub": "42",
              "exp": now + 60, "nbf": now, "iat": now, "jti": "jti-1", "sid": "sid-1"}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token):
    return f"Bearer {token}"


@pytest.fixture
def frozen_jwt_clock(monkeypatch):
    """Freeze PyJWT's notion of now (the published tokens expired in 2020)."""
    def freeze(timestamp):
        class Frozen(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.fromtimestamp(timestamp, tz=tz or UTC)
        monkeypatch.setattr(jwt.api_jwt, "datetime", Frozen)
    return freeze


def test_a_valid_token_identifies_the_shop_and_staff_user():
    token = mint()
    claims = decode_session_token(bearer(token), API_KEY, SECRET)
    assert claims.shop == SHOP
    assert claims.user_id == "42"
    assert claims.session_id == "sid-1"
    assert claims.token_id == "jti-1"
    assert claims.token == token            # kept for token exchange...
    assert token not in repr(claims)        # ...but never printed


@pytest.mark.parametrize("header, reason", [
    (None, "missing"),
    ("", "missing"),
    ("Basic dXNlcjpwYXNz", "Bearer"),
    (mint(), "Bearer"),  # token without the Bearer prefix
])
def test_a_request_without_a_bearer_token_is_refused(header, reason):
    with pytest.raises(InvalidSessionToken) as err:
        decode_session_token(header, API_KEY, SECRET)
    assert reason in err.value.reason


# Times are offsets from when the test runs, not from collection: a long suite must not age them.
@pytest.mark.parametrize("overrides, secret, reason", [
    ({"exp": -3600}, SECRET, "expired"),
    ({"aud": "another-app"}, SECRET, "audience"),
    ({}, "someone-elses-secret-0123456789abcdef", "Signature"),
    ({"nbf": 600}, SECRET, "not yet valid"),
    ({"sid": None}, SECRET, "sid"),
    ({"dest": "https://other-shop.myshopify.com"}, SECRET, "differ"),
    ({"iss": "https://evil.example.com/admin", "dest": "https://evil.example.com"}, SECRET, "issuer"),
    ({"exp": None}, SECRET, "expiry"),
])
def test_forged_expired_or_foreign_tokens_are_refused(overrides, secret, reason):
    now = int(time.time())
    overrides = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in overrides.items()}
    with pytest.raises(InvalidSessionToken) as err:
        decode_session_token(bearer(mint(secret=secret, **overrides)), API_KEY, SECRET)
    assert reason.lower() in err.value.reason.lower()


def test_app_bridge_clock_skew_within_ten_seconds_is_tolerated():
    claims = decode_session_token(bearer(mint(nbf=int(time.time()) + 5)), API_KEY, SECRET)
    assert claims.shop == SHOP


def test_a_token_for_a_non_myshopify_destination_is_refused():
    token = mint(iss="https://shop.myshopify.com.evil.io/admin", dest="https://shop.myshopify.com.evil.io")
    with pytest.raises(InvalidSessionToken):
        decode_session_token(bearer(token), API_KEY, SECRET)


def test_unconfigured_credentials_refuse_instead_of_accepting():
    with pytest.raises(InvalidSessionToken):
        decode_session_token(bearer(mint()), "", "")


def test_published_tokens_are_judged_like_shopify_does(signature_vectors, frozen_jwt_clock):
    frozen_jwt_clock(1591765000)  # between nbf and exp of the published tokens
    for vector in signature_vectors["session_token_jwt"]["signed_tokens"]:
        should_pass = vector["signature_verifies"] and vector["aud_matches_api_key"]
        header = bearer(vector["token"])
        if should_pass:
            claims = decode_session_token(header, vector["api_key"], vector["secret"])
            assert claims.shop == "example.myshopify.com", vector["name"]
            assert claims.user_id == vector["decoded_payload"]["sub"]
        else:
            with pytest.raises(InvalidSessionToken):
                decode_session_token(header, vector["api_key"], vector["secret"])


def test_published_valid_token_is_refused_today_because_it_expired(signature_vectors):
    vector = signature_vectors["session_token_jwt"]["signed_tokens"][0]
    assert vector["name"] == "valid_signature"
    with pytest.raises(InvalidSessionToken) as err:
        decode_session_token(bearer(vector["token"]), vector["api_key"], vector["secret"])
    assert "expired" in err.value.reason.lower()


def test_the_docs_example_payload_decodes_when_signed_with_our_secret(signature_vectors, frozen_jwt_clock):
    payload = dict(signature_vectors["session_token_jwt"]["docs_example_payload"]["payload"])
    frozen_jwt_clock(payload["nbf"] + 1)
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    claims = decode_session_token(bearer(token), payload["aud"], SECRET)
    assert claims.shop == "exampleshop.myshopify.com"
    assert claims.session_id == payload["sid"]
