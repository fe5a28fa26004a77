"""Hostile input on every route: never a 5xx, and nothing written without authentication.

Hypothesis generates the inputs: webhook bodies that are garbage under a *valid* HMAC
(and forged signatures over real payloads), App Proxy queries with forged, missing,
stale and repeated signatures and parameters, admin API calls with bad, expired and
foreign session tokens, tampered survey and unsubscribe links, unsigned SendGrid
events, OAuth callbacks and referral codes. The number of examples per route comes from
SCALE (fast in `make test`, ≥ 10,000 inputs in all with SCALE=full).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from plugin.models import Base, Shop, utcnow
from plugin.open_api.keys import create_key
from plugin.reviews.integrations import connect_judgeme
from plugin.shopify.signatures import sign_app_proxy, sign_webhook
from tests.conftest import API_SECRET, SHARED
from tests.integration.conftest import bearer, session_token
from tests.integration.emails.conftest import make_app
from tests.integration.loyalty.conftest import setup_shop
from tests.reliability.scale import current
from tests.shopify_requests import SHOP, fixture_body

EXAMPLES = current().fuzz_examples
SEEN: Counter = Counter()  # status classes over the whole module, reported at the end
BY_ROUTE: dict[str, Counter] = {}  # the same per route group (the path's first segment)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

junk_text = st.text(max_size=80)
junk_bytes = st.binary(max_size=400)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | junk_text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(junk_text, inner, max_size=4),
                           max_leaves=12)
topics = st.sampled_from(["orders/paid", "refunds/create", "customers/create", "customers/redact", "shop/redact",
                          "orders/cancelled", "checkouts/create", "app/uninstalled", "customers/data_request",
                          "customers_email_marketing_consent/update", "nope/nope"]) | junk_text
header_values = junk_text.filter(lambda v: "\n" not in v and "\r" not in v)


def row_count(app_state, skip: tuple[str, ...] = ()) -> int:
    with app_state.db.transaction() as session:
        return sum(session.execute(select(func.count()).select_from(t)).scalar_one()
                   for t in Base.metadata.sorted_tables if t.name not in skip)


def check(response) -> int:
    SEEN[f"{response.status_code // 100}xx"] += 1
    group = "/" + response.request.path.lstrip("/").split("/", 1)[0]
    BY_ROUTE.setdefault(group, Counter())[f"{response.status_code // 100}xx"] += 1
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    return response.status_code


def ascii_header(value: str) -> str:
    """Any text a client can put in a header: Latin-1, and no CR/LF (HTTP cannot carry them)."""
    return value.encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")


@pytest.fixture
def app(migrated, pg_url):
    """The app with every optional route switched on (the signed SendGrid Event Webhook too),
    so each route answers its own checks rather than "not configured"."""
    vector = json.loads((SHARED / "fixtures" / "sendgrid" / "event_webhook_vector.json").read_text())
    app = make_app(pg_url, SENDGRID_EVENT_PUBLIC_KEY=vector["public_key_base64_der"])
    with app.app_context():
        yield app
    app.extensions["embajador"].db.dispose()


@pytest.fixture
def shop(app_state):
    return setup_shop(app_state)


def test_webhooks_with_a_valid_hmac_over_garbage_never_5xx(client, app_state, shop):
    @FUZZ
    @given(body=junk_bytes | json_values.map(lambda v: json.dumps(v).encode()), topic=topics,
           shop_domain=st.sampled_from([SHOP, "other.myshopify.com", "", "x"]) | header_values,
           event_id=st.none() | header_values)
    def run(body, topic, shop_domain, event_id):
        headers = {"X-Shopify-Hmac-Sha256": sign_webhook(body, API_SECRET), "X-Shopify-Topic": ascii_header(topic),
                   "X-Shopify-Shop-Domain": ascii_header(shop_domain)}
        if event_id is not None:
            headers["X-Shopify-Event-Id"] = ascii_header(event_id)
        check(client.post("/webhooks", data=body, headers=headers))
    run()


def test_forged_webhooks_write_nothing(client, app_state, shop):
    before = row_count(app_state)

    @FUZZ
    @given(signature=st.none() | header_values, body=st.sampled_from(["orders__paid.json", "customers__redact.json",
                                                                       "shop__redact.json"]).map(fixture_body))
    def run(signature, body):
        headers = {"X-Shopify-Topic": "orders/paid", "X-Shopify-Shop-Domain": SHOP}
        if signature is not None:
            headers["X-Shopify-Hmac-Sha256"] = ascii_header(signature)
        assert check(client.post("/webhooks", data=body, headers=headers)) == 401
    run()
    assert row_count(app_state) == before


def _proxy_query(params: list[tuple[str, str]]) -> str:
    return urlencode(params)


def test_app_proxy_with_forged_missing_stale_or_repeated_signatures_is_refused_and_writes_nothing(client, app_state,
                                                                                               shop):
    before = row_count(app_state)
    fresh = lambda: str(int(time.time()))  # noqa: E731

    @FUZZ
    @given(kind=st.sampled_from(["forged", "missing", "stale", "repeated", "extra-garbage"]),
           customer=st.sampled_from(["", "115310627314723954", "1"]) | junk_text,
           route=st.sampled_from([("GET", "/proxy/customer"), ("POST", "/proxy/redeem"), ("POST", "/proxy/birthday")]),
           body=json_values, junk=st.lists(st.tuples(junk_text.map(lambda k: "x" + k), junk_text), min_size=1,
                                           max_size=3))
    def run(kind, customer, route, body, junk):
        params = {"shop": SHOP, "path_prefix": "/apps/embajador", "timestamp": fresh(),
                  "logged_in_customer_id": customer}
        if kind == "stale":
            params["timestamp"] = str(int(time.time()) - 3600)
        pairs = list(params.items())
        if kind == "repeated":
            pairs.append(("logged_in_customer_id", "999"))
        signature = sign_app_proxy(params, API_SECRET)
        if kind == "forged":
            signature = sign_app_proxy(params, "not-the-secret")
        if kind != "missing":
            pairs.append(("signature", signature))
        if kind == "extra-garbage":
            pairs.extend(junk)  # parameters added after signing
        method, path = route
        url = f"{path}?{_proxy_query(pairs)}"
        response = client.open(url, method=method, data=json.dumps(body), content_type="application/json")
        assert check(response) in (400, 401), (kind, response.status_code)
    run()
    assert row_count(app_state) == before


ADMIN_CALLS = [("GET", "/api/shop"), ("GET", "/api/inbox"), ("GET", "/api/data-exports"),
               ("GET", "/api/data-exports/1"), ("GET", "/api/program"), ("PUT", "/api/program"),
               ("GET", "/api/customers/1/ledger"),
               ("POST", "/api/customers/1/adjust"), ("PUT", "/api/customers/1/birthday"), ("GET", "/api/referrals"),
               ("POST", "/api/referrals/1/approve"), ("POST", "/api/referrals/1/reject"),
               ("GET", "/api/analytics/abandoned-checkouts"), ("GET", "/api/complaints"),
               ("POST", "/api/complaints/1/answer"), ("POST", "/api/complaints/1/close")]


def test_admin_api_with_bad_expired_or_foreign_session_tokens_is_401_and_writes_nothing(client, app_state, shop):
    before = row_count(app_state)
    tokens = st.sampled_from([
        session_token(exp_in=-120),                                   # expired
        session_token(secret="someone-elses-secret"),                 # forged
        session_token(aud="another-app"),                             # another app's
        session_token(dest="https://foreign.myshopify.com"),          # issued by one shop, aimed at another
        session_token(nbf=int(time.time()) + 600),                    # not yet valid
    ]) | junk_text.map(ascii_header)

    @FUZZ
    @given(call=st.sampled_from(ADMIN_CALLS), token=st.none() | tokens, body=json_values)
    def run(call, token, body):
        method, path = call
        headers = bearer(token) if token is not None else {}
        response = client.open(path, method=method, headers=headers, data=json.dumps(body),
                               content_type="application/json")
        assert check(response) == 401
    run()
    assert row_count(app_state) == before


def test_tampered_links_unsigned_events_and_bad_oauth_never_5xx_and_write_nothing(client, app_state, shop):
    before = row_count(app_state, skip=("oauth_states",))
    token_text = st.text(alphabet=st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1, max_size=120)

    @FUZZ
    @given(which=st.sampled_from(["survey", "comment", "unsubscribe-get", "unsubscribe-post", "sendgrid", "callback",
                                  "install", "referral"]),
           token=token_text, score=st.none() | junk_text | st.integers(-5, 20).map(str), body=junk_bytes,
           query=st.lists(st.tuples(junk_text, junk_text), max_size=5))
    def run(which, token, score, body, query):
        quoted = quote(token, safe="")
        if which == "survey":
            response = client.get(f"/survey/{quoted}" + (f"?score={quote(score)}" if score is not None else ""))
        elif which == "comment":
            response = client.post(f"/survey/{quoted}/comment", data={"comment": score or ""})
        elif which == "unsubscribe-get":
            response = client.get(f"/emails/unsubscribe/{quoted}")
        elif which == "unsubscribe-post":
            response = client.post(f"/emails/unsubscribe/{quoted}", data=body)
        elif which == "sendgrid":
            response = client.post("/sendgrid/events", data=body, content_type="application/json")
        elif which == "callback":
            response = client.get(f"/auth/callback?{urlencode(query + [('shop', SHOP), ('hmac', token)])}")
        elif which == "install":
            response = client.get(f"/auth/install?{urlencode([('shop', token)] + query)}")
        else:
            response = client.get(f"/r/{quoted}")
        status = check(response)
        if which in ("sendgrid", "callback"):
            assert status in (400, 401), (which, status)
    run()
    # /auth/install for a well-formed shop stores its single-use OAuth state: that is the
    # route's contract (it is how OAuth works); everything else must stay as it was.
    assert row_count(app_state, skip=("oauth_states",)) == before


@pytest.fixture(scope="module", autouse=True)
def report_the_tally():
    """Prints what the fuzzing saw (bench/RESULTS.md takes it from a SCALE=full run)."""
    yield
    print(f"\nhostile inputs: {sum(SEEN.values())} responses {dict(sorted(SEEN.items()))}")
    for group, seen in sorted(BY_ROUTE.items()):
        print(f"  {group}: {sum(seen.values())} responses {dict(sorted(seen.items()))}")


def test_open_api_and_review_hooks_refuse_bad_keys_and_signatures_and_never_5xx(client, app_state, shop):
    """/v1 with junk, forged or missing keys: 401 and nothing written; with a valid key and junk
    ids, bodies and Idempotency-Keys: never 5xx. Review hooks with forged signatures: 401."""
    with app_state.db.transaction() as session:
        row = session.get(Shop, shop)
        row.program = {**row.program, "actions": {"custom": [{"id": "review", "points": 5}]}}
        key = create_key(session, row, "fuzz", "test", utcnow()).key
        connect_judgeme(session, row, "judge-me-token-123", app_state.cipher, "test", utcnow())
    before = row_count(app_state)
    paths = st.sampled_from(["/v1/customers/7", "/v1/customers", "/v1/customers/7/ledger", "/v1/rewards",
                             "/v1/actions"])
    writes = st.sampled_from(["/v1/customers/7/adjust", "/v1/customers/7/redeem", "/v1/customers/7/actions/review"])

    @FUZZ
    @given(path=paths | writes, token=st.none() | junk_text.map(ascii_header) | st.just(key[:-1] + "x"),
           body=json_values)
    def unauthenticated(path, token, body):
        headers = {"Idempotency-Key": "k"} | ({"Authorization": f"Bearer {token}"} if token is not None else {})
        response = client.post(path, headers=headers, data=json.dumps(body), content_type="application/json") \
            if path in ("/v1/customers/7/adjust", "/v1/customers/7/redeem", "/v1/customers/7/actions/review") \
            else client.get(path, headers=headers)
        assert check(response) == 401
    unauthenticated()

    @FUZZ
    @given(customer=junk_text.map(lambda v: quote(v, safe="")) | st.sampled_from(["7", "a@b.c"]),
           action=junk_text.map(lambda v: quote(v, safe="")) | st.just("review"),
           idem=st.none() | junk_text.map(ascii_header), body=json_values, limit=junk_text.map(lambda v: quote(v)))
    def authenticated(customer, action, idem, body, limit):
        headers = {"Authorization": f"Bearer {key}"} | ({"Idempotency-Key": idem} if idem is not None else {})
        for path in (f"/v1/customers/{customer}/adjust", f"/v1/customers/{customer}/redeem",
                     f"/v1/customers/{customer}/actions/{action}"):
            check(client.post(path, headers=headers, data=json.dumps(body), content_type="application/json"))
        check(client.get(f"/v1/customers/{customer}/ledger?limit={limit}", headers=headers))
        check(client.get(f"/v1/customers?email={customer}", headers=headers))
    authenticated()

    @FUZZ
    @given(signature=st.none() | junk_text.map(ascii_header), body=junk_bytes, token=junk_text)
    def forged_hooks(signature, body, token):
        headers = {"JUDGEME-HMAC-SHA256": signature} if signature is not None else {}
        assert check(client.post(f"/hooks/reviews/judgeme/{SHOP}", data=body, headers=headers)) == 401
        assert check(client.post(f"/hooks/reviews/yotpo/{SHOP}", query_string={"token": token}, data=body)) == 401
    forged_hooks()
    # only last_used_at moved on the key: no customer, ledger, idempotency or integration row was added
    assert row_count(app_state) == before

