"""Tenant isolation: two installed shops with the same Shopify customer ids, the same emails,
the same order ids and the same reward discount code. Acting as shop A — every HTTP route
(enumerated from ``app.url_map``, so a new route without a case fails), every job and every
CLI command (enumerated from the ``embajador`` group) — must neither read nor change shop B:
B's rows are byte-for-byte the same afterwards, no response to A carries anything only B has,
no row of A points at a customer of B, and Shopify is never called with B's token.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, text

from emails.delivery.outbox import queue_email
from emails.delivery.scheduling import send_due_messages
from emails.delivery.send_job import send_outbox_message
from emails.delivery.tokens import UNSUBSCRIBE, make_token
from plugin import create_app
from plugin.admin.dev_login import dev_login_url
from plugin.demo.fake_shopify import FakeShopify, install_into_responses
from plugin.feedback.survey_links import survey_token
from plugin.loyalty.actions import adjust_points
from plugin.loyalty.metafield_sync import sync_customer_metafields_job
from plugin.loyalty.rules.program import default_program, dump_program
from plugin.loyalty.tier_sync import reevaluate_tiers_job
from plugin.models import (
    Base,
    Complaint,
    Customer,
    CustomerDataExport,
    LedgerEntry,
    OutboundEndpoint,
    OutboxMessage,
    ProgramVersion,
    Redemption,
    Referral,
    ReferralClick,
    Shop,
    SurveyResponse,
    WebhookDelivery,
    utcnow,
)
from plugin.open_api.keys import create_key
from plugin.referrals.links import ensure_referral_code
from plugin.reviews.integrations import connect_judgeme, connect_yotpo
from plugin.shopify.oauth import TokenSet
from plugin.shops.tokens import install_shop
from plugin.whatif.runs import start_run
from tests.conftest import API_KEY, API_SECRET, _truncate_all, base_env
from tests.integration.conftest import ADMIN_ORIGIN, bearer, session_token
from tests.integration.loyalty.conftest import payable, run_tick
from tests.integration.reviews.payloads import judgeme as judgeme_review
from tests.integration.reviews.payloads import yotpo as yotpo_review
from tests.integration.security.conftest import signed_proxy_query
from tests.reliability.history import refund_payload
from tests.shopify_requests import post_webhook, webhook_headers

A, B = "tienda-a.myshopify.com", "tienda-b.myshopify.com"
ANA, AMIGA = "5005", "5006"                       # the same Shopify customer ids in both shops
ANA_EMAIL, AMIGA_EMAIL = "ana@example.cl", "amiga@example.cl"
ORDER_ID = 820982911946154508                     # the same order id in both shops
SHARED_CODE = "EMBMISMO1234"                      # the same reward discount code in both shops
# What only shop B has: none of it may appear in an answer to shop A.
B_MARKERS = ("tienda-b", "Brunilda", "Bsecreta", "queja-de-tienda-b", "dueno-b@")
EVENT_KEY = ec.generate_private_key(ec.SECP256R1())
EVENT_PUBLIC = base64.b64encode(EVENT_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
SIG, TS = "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"
# A Smile.io export (the columns tests/integration/loyalty_import uses) naming the email both shops have.
IMPORT_CSV = f"first_name,email,points_balance,vip_tier,referral_url,date_of_birth\nAna,{ANA_EMAIL},1200,,,\n"


@dataclass
class Tenant:
    domain: str
    shop_id: int
    token: str
    ana_id: int
    amiga_id: int
    referral_code: str
    referral_id: int
    complaint_id: int
    export_id: int
    version: int
    delivery_id: int
    outbox_id: int
    survey: str
    unsubscribe: str
    api_key: str
    api_key_id: int
    endpoint_id: int
    judgeme_secret: str
    yotpo_token: str
    whatif_run_id: int


@dataclass
class World:
    app: Any
    app_state: Any
    client: Any
    fake: FakeShopify
    a: Tenant
    b: Tenant
    calls_by_shop: Counter


@pytest.fixture
def world(migrated, pg_url):
    app = create_app(base_env(pg_url, SENDGRID_EVENT_PUBLIC_KEY=EVENT_PUBLIC))
    app_state = app.extensions["embajador"]
    _truncate_all(app_state.db)
    fake = FakeShopify(api_key=API_KEY, api_secret=API_SECRET)
    calls_by_shop: Counter = Counter()
    handle = fake.handle

    def handle_counting_by_shop(method, path, headers, body):
        before = len(fake.calls)
        answer = handle(method, path, headers, body)
        calls_by_shop[fake.tokens.get(headers.get("X-Shopify-Access-Token", ""))] += len(fake.calls) - before
        return answer

    fake.handle = handle_counting_by_shop  # type: ignore[method-assign]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, app.app_context():
        install_into_responses(fake, rsps, ADMIN_ORIGIN)
        client = app.test_client()
        a = _seed(app_state, client, fake, A, "Alfonsina", "Aguirre", "dueno-a@tienda-a.test", 1000)
        b = _seed(app_state, client, fake, B, "Brunilda", "Bsecreta", "dueno-b@tienda-b.test", 4321)
        for minutes in (1, 2):  # settle: whatever the tick does for B happens before B is photographed
            run_tick(app_state, utcnow() + timedelta(minutes=minutes))
        yield World(app, app_state, client, fake, a, b, calls_by_shop)
    app_state.db.dispose()


def _send(client, domain: str, topic: str, payload: dict) -> None:
    response = post_webhook(client, topic, payload, shop=domain)
    assert response.status_code == 200, response.get_data(as_text=True)


def _customer_payload(shopify_id: str, email: str, first: str, last: str) -> dict:
    return {"id": int(shopify_id), "email": email, "first_name": first, "last_name": last,
            "updated_at": "2026-11-01T00:00:00Z"}


def _seed(app_state, client, fake: FakeShopify, domain: str, first: str, last: str, merchant: str,
          points: int) -> Tenant:
    token = fake.issue_token(domain)
    program = dump_program(default_program("USD", "es"))
    with app_state.db.transaction() as session:
        shop = install_shop(session, app_state.cipher, domain,
                            TokenSet(access_token=token, scope="read_orders,write_discounts", expires_at=None), utcnow())
        shop.currency, shop.primary_locale, shop.name, shop.program = "USD", "es", f"Tienda {first}", program
        shop.settings = {"emails": {"from_email": merchant, "merchant_email": merchant}}
        shop_id = shop.id
    _send(client, domain, "customers/create", _customer_payload(ANA, ANA_EMAIL, first, last))
    _send(client, domain, "customers/create", _customer_payload(AMIGA, AMIGA_EMAIL, f"{first}Amiga", last))
    _send(client, domain, "orders/paid", payable(id=ORDER_ID, email=ANA_EMAIL,
                                                 customer=_customer_payload(ANA, ANA_EMAIL, first, last)))
    now = utcnow()
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        ana = session.execute(Customer.for_shop(shop_id).where(Customer.shopify_id == ANA)).scalar_one()
        amiga = session.execute(Customer.for_shop(shop_id).where(Customer.shopify_id == AMIGA)).scalar_one()
        ana.marketing_state = amiga.marketing_state = "SUBSCRIBED"
        adjust_points(session, shop, ana, points - ana.points_available, "seeded balance", "cli", now)
        code = ensure_referral_code(session, ana)
        click_row = ReferralClick(shop_id=shop_id, advocate_id=ana.id, ip_hash="a" * 64, ua_hash="b" * 64)
        session.add(click_row)
        session.flush()
        referral = Referral(shop_id=shop_id, advocate_id=ana.id, customer_id=amiga.id, email=AMIGA_EMAIL,
                            friend_order_id="800001", status="held", click_id=click_row.id,
                            hold_reasons=[{"code": "self_referral", "text": "same mailbox"}])
        survey = SurveyResponse(shop_id=shop_id, customer_id=amiga.id, order_id="800001", order_name="#1",
                                survey_type="nps", score=3, comment=f"queja-de-{domain.split('.')[0]}")
        redemption = Redemption(shop_id=shop_id, customer_id=ana.id, reward_id="5off", reward_name="5 off", cost=500,
                                status="issued", code=SHARED_CODE, expires_at=now + timedelta(days=30))
        session.add_all([referral, survey, redemption])
        session.flush()
        complaint = Complaint(shop_id=shop_id, customer_id=amiga.id, survey_response_id=survey.id,
                              order_id="800001", order_name="#1", score=3, comment=f"queja-de-{domain.split('.')[0]}")
        export = CustomerDataExport(shop_id=shop_id, customer_shopify_id=AMIGA, data_request_id="1",
                                    data={"email": AMIGA_EMAIL, "name": f"{first} {last}"})
        version = ProgramVersion(shop_id=shop_id, version=1, document=program, created_at=now)
        session.add_all([complaint, export, version])
        outbox_id = queue_email(session, shop=shop, flow="welcome", message_key=f"welcome:test:{domain}",
                                to_email=ANA_EMAIL, customer=ana,
                                context={"signup_points": 100, "program_url": "https://x.test/p"})
        session.flush()
        delivery_id = session.execute(select(WebhookDelivery.id).where(WebhookDelivery.shop_id == shop_id)
                                      .order_by(WebhookDelivery.id)).scalars().first()
        secret = app_state.config.secret_key
        key = create_key(session, shop, f"clave {first}", "test", now)
        endpoint = OutboundEndpoint(shop_id=shop_id, url=f"https://hooks.{domain}/embajador", topics=[],
                                    secret_enc=app_state.cipher.encrypt(f"whsec-{first}"), enabled=True)
        session.add(endpoint)
        judgeme_secret = f"judgeme-secret-{first}"
        connect_judgeme(session, shop, judgeme_secret, app_state.cipher, "test", now)
        yotpo_token = connect_yotpo(session, shop, "test", now)
        whatif_run = start_run(session, shop, program, "test")
        session.flush()
        return Tenant(domain, shop_id, token, ana.id, amiga.id, code, referral.id, complaint.id, export.id,
                      version.version, delivery_id, outbox_id,
                      survey_token(secret, shop, amiga, "800001", "#1", "nps", now + timedelta(days=30)),
                      make_token(secret, UNSUBSCRIBE, {"s": shop_id, "c": amiga.id}),
                      key.key, key.id, endpoint.id, judgeme_secret, yotpo_token, whatif_run.id)


# --- what "unchanged" and "leaked" mean ----------------------------------------------------

def _rows_of(app_state, shop_id: int) -> dict[str, list[tuple]]:
    """Every row of shop ``shop_id`` in every table (the shops row itself included)."""
    out: dict[str, list[tuple]] = {}
    with app_state.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "shop_id" in table.c:
                query = select(table).where(table.c.shop_id == shop_id)
            elif table.name == "shops":
                query = select(table).where(table.c.id == shop_id)
            else:
                continue
            out[table.name] = sorted(tuple(map(repr, row)) for row in conn.execute(query))
    return out


CUSTOMER_COLUMNS = ("customer_id", "advocate_id", "about_customer_id")


def _cross_shop_references(app_state) -> list[str]:
    """Rows of one shop pointing at a customer of another shop."""
    found = []
    with app_state.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "shop_id" not in table.c:
                continue
            for column in (c for c in CUSTOMER_COLUMNS if c in table.c):
                n = conn.execute(text(
                    f'SELECT count(*) FROM "{table.name}" t JOIN customers c ON c.id = t."{column}" '
                    "WHERE c.shop_id <> t.shop_id")).scalar_one()
                if n:
                    found.append(f"{table.name}.{column}: {n} rows of one shop point at another shop's customer")
    return found


def _changed(before: dict, after: dict) -> list[str]:
    return [f"{name}: {len(before.get(name, []))} rows before, {len(after.get(name, []))} after"
            + (" (same count, values changed)" if len(before.get(name, [])) == len(after.get(name, [])) else "")
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


def _leaks(body: str) -> list[str]:
    return [marker for marker in B_MARKERS if marker.lower() in body.lower()]


class Probe:
    """Runs one case as shop A and checks shop B afterwards."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.before = _rows_of(world.app_state, world.b.shop_id)
        self.b_calls = world.calls_by_shop[B]
        self.references: list[str] = _cross_shop_references(world.app_state)

    def check(self, name: str, bodies: list[str], statuses: list[int]) -> list[str]:
        world = self.world
        problems = [f"{name}: answered {s}" for s in statuses if s >= 500]
        problems += [f"{name}: answer to shop A shows {leak!r}" for body in bodies for leak in _leaks(body)]
        problems += [f"{name}: shop B changed: {c}" for c in _changed(self.before, _rows_of(world.app_state, world.b.shop_id))]
        references = _cross_shop_references(world.app_state)
        problems += [f"{name}: {r}" for r in references if r not in self.references]
        self.references = references
        if world.calls_by_shop[B] != self.b_calls:
            problems.append(f"{name}: {world.calls_by_shop[B] - self.b_calls} Shopify calls with shop B's token")
        return problems


# --- HTTP routes -----------------------------------------------------------------------------

def _admin(world: World) -> dict:
    return bearer(session_token(shop=A))


def _proxy(customer: str, shop: str = A) -> str:
    return signed_proxy_query([("shop", shop), ("path_prefix", "/apps/embajador"),
                               ("timestamp", str(int(time.time()))), ("logged_in_customer_id", customer)])


def _signed_events(events: list[dict]) -> tuple[bytes, dict]:
    raw = json.dumps(events).encode()
    stamp = str(int(time.time()))
    signature = base64.b64encode(EVENT_KEY.sign(stamp.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
    return raw, {SIG: signature, TS: stamp, "Content-Type": "application/json"}


Request = tuple[str, str, dict]   # method, path (with query), keyword arguments for the test client


def _route_cases(world: World) -> dict[tuple[str, str], list[Request]]:
    """(endpoint, method) -> the requests shop A makes, aimed at B's ids where the route takes one."""
    a, b, auth = world.a, world.b, _admin(world)
    mixed_survey = survey_token(world.app_state.config.secret_key, _shop(world, A), _customer(world, b.amiga_id),
                                "800777", "#7", "nps", utcnow() + timedelta(days=1))
    mixed_unsubscribe = make_token(world.app_state.config.secret_key, UNSUBSCRIBE, {"s": a.shop_id, "c": b.amiga_id})
    events, event_headers = _signed_events([
        {"email": ANA_EMAIL, "timestamp": int(time.time()), "event": "unsubscribe", "sg_event_id": "ev-a-1",
         "sg_message_id": "sg-a-1", "shop": A, "message_id": _message_id(world, b.outbox_id)},
        {"email": AMIGA_EMAIL, "timestamp": int(time.time()), "event": "spamreport", "sg_event_id": "ev-a-2",
         "sg_message_id": "sg-a-2", "shop": A}])
    update = json.dumps(_customer_payload(ANA, ANA_EMAIL, "Alfonsina", "Aguirre")).encode()
    review = json.dumps(judgeme_review()).encode()
    signed_by_a = hmac.new(a.judgeme_secret.encode(), review, hashlib.sha256).hexdigest()
    api = {"Authorization": f"Bearer {a.api_key}"}
    program = world.client.get("/api/program", headers=auth).get_json()
    program = program.get("program", program)
    return {
        ("admin.embedded_page", "GET"): [("get", f"/?shop={A}", {})],
        ("admin.section_page", "GET"): [("get", f"/customers?shop={A}", {})],
        ("admin.static", "GET"): [("get", "/admin-static/admin.js", {})],
        ("static", "GET"): [("get", "/static/nothing-here.css", {})],
        ("admin.abandoned_checkout_stats", "GET"): [("get", "/api/analytics/abandoned-checkouts", {"headers": auth})],
        ("admin.analytics_export", "GET"): [("get", f"/api/analytics/export/{name}.csv", {"headers": auth})
                                            for name in ("customers", "ledger", "referral_funnel", "feedback_scores")],
        ("admin.analytics_summary", "GET"): [("get", "/api/analytics/summary", {"headers": auth})],
        ("admin.complaints_list", "GET"): [("get", "/api/complaints", {"headers": auth})],
        ("admin.complaint_answer", "POST"): [("post", f"/api/complaints/{b.complaint_id}/answer",
                                              {"headers": auth, "json": {"answer": "lo sentimos"}})],
        ("admin.complaint_close", "POST"): [("post", f"/api/complaints/{b.complaint_id}/close", {"headers": auth})],
        ("admin.customers_search", "GET"): [("get", f"/api/customers?q={q}", {"headers": auth})
                                            for q in (ANA_EMAIL, ANA, "Brunilda", "")],
        ("admin.customer_detail", "GET"): [("get", f"/api/customers/{ANA}", {"headers": auth})],
        ("admin.adjust", "POST"): [("post", f"/api/customers/{ANA}/adjust",
                                    {"headers": auth, "json": {"points": 25, "reason": "gesture"}})],
        ("admin.set_customer_birthday", "PUT"): [("put", f"/api/customers/{ANA}/birthday",
                                                  {"headers": auth, "json": {"birthday": "1990-05-17"}})],
        ("admin.customer_ledger", "GET"): [("get", f"/api/customers/{ANA}/ledger", {"headers": auth})],
        ("admin.data_exports", "GET"): [("get", "/api/data-exports", {"headers": auth})],
        ("admin.data_export", "GET"): [("get", f"/api/data-exports/{b.export_id}", {"headers": auth})],
        ("admin.email_flows", "GET"): [("get", "/api/emails/flows", {"headers": auth})],
        ("admin.email_preview", "GET"): [("get", "/api/emails/preview/welcome", {"headers": auth})],
        ("admin.email_test", "POST"): [("post", "/api/emails/test", {"headers": auth,
                                                                    "json": {"flow": "welcome", "locale": "es"}})],
        ("admin.inbox", "GET"): [("get", "/api/inbox", {"headers": auth})],
        ("admin.onboarding_get", "GET"): [("get", "/api/onboarding", {"headers": auth})],
        ("admin.onboarding_import", "POST"): [("post", "/api/onboarding/import", {"headers": auth})],
        ("admin.onboarding_live", "POST"): [("post", "/api/onboarding/live", {"headers": auth,
                                                                             "json": {"enabled": True}})],
        ("admin.onboarding_program", "POST"): [("post", "/api/onboarding/program", {"headers": auth,
                                                                                   "json": {"preset": "simple"}})],
        ("admin.onboarding_sender", "POST"): [("post", "/api/onboarding/sender", {
            "headers": auth, "json": {"from_email": "dueno-a@tienda-a.test"}})],
        ("admin.onboarding_theme", "POST"): [("post", "/api/onboarding/theme", {"headers": auth,
                                                                               "json": {"enabled": True}})],
        ("admin.get_program", "GET"): [("get", "/api/program", {"headers": auth})],
        ("admin.put_program", "PUT"): [("put", "/api/program", {"headers": auth, "json": program})],
        ("admin.validate_program", "POST"): [("post", "/api/program/validate", {"headers": auth, "json": program})],
        ("admin.program_versions", "GET"): [("get", "/api/program/versions", {"headers": auth})],
        ("admin.program_rollback", "POST"): [("post", f"/api/program/versions/{b.version}/rollback",
                                              {"headers": auth})],
        ("admin.referrals_list", "GET"): [("get", "/api/referrals", {"headers": auth})],
        ("admin.referral_approve", "POST"): [("post", f"/api/referrals/{b.referral_id}/approve", {"headers": auth})],
        ("admin.referral_reject", "POST"): [("post", f"/api/referrals/{b.referral_id}/reject",
                                             {"headers": auth, "json": {"reason": "no"}})],
        ("admin.referrals_leaderboard", "GET"): [("get", "/api/referrals/leaderboard", {"headers": auth})],
        ("admin.shop_info", "GET"): [("get", "/api/shop", {"headers": auth})],
        ("install.callback", "GET"): [("get", f"/auth/callback?shop={A}&code=stolen&state=nope", {})],
        ("install.install", "GET"): [("get", f"/auth/install?shop={A}", {})],
        ("admin.dev_login", "GET"): [("get", dev_login_url("", A, world.app_state.config.secret_key), {})],
        ("admin.dev_session_token", "GET"): [("get", "/dev/session-token", {})],
        ("unsubscribe.unsubscribe_link", "GET"): [("get", f"/emails/unsubscribe/{t}", {})
                                                  for t in (a.unsubscribe, mixed_unsubscribe)],
        ("unsubscribe.unsubscribe_link", "POST"): [("post", f"/emails/unsubscribe/{t}", {})
                                                   for t in (a.unsubscribe, mixed_unsubscribe)],
        ("health.healthz", "GET"): [("get", "/healthz", {})],
        ("storefront.customer_status_view", "GET"): [("get", f"/proxy/customer?{_proxy(ANA)}", {})],
        ("storefront.redeem_view", "POST"): [
            ("post", f"/proxy/redeem?{_proxy(ANA)}", {"json": {"reward_id": "5off"}}),
            # A's signature with the shop changed to B: refused.
            ("post", f"/proxy/redeem?{_proxy(ANA).replace(A, B)}", {"json": {"reward_id": "5off"}})],
        ("storefront.birthday_view", "POST"): [("post", f"/proxy/birthday?{_proxy(AMIGA)}",
                                                {"json": {"birthday": "1991-03-02"}}),
                                               ("post", f"/proxy/birthday?{_proxy(AMIGA).replace(A, B)}",
                                                {"json": {"birthday": "1991-03-02"}})],
        ("referrals.referral_landing", "GET"): [("get", f"/r/{a.referral_code}", {"headers": {"User-Agent": "Mozilla/5.0"}})],
        ("sendgrid.sendgrid_events", "POST"): [("post", "/sendgrid/events", {"data": events, "headers": event_headers})],
        ("feedback.survey_page", "GET"): [("get", f"/survey/{t}?score=2", {}) for t in (a.survey, mixed_survey)],
        ("feedback.survey_answer", "POST"): [("post", f"/survey/{t}", {"data": {"score": "2"}})
                                             for t in (a.survey, mixed_survey)],
        ("feedback.survey_comment", "POST"): [("post", f"/survey/{t}/comment", {"data": {"comment": "tarde"}})
                                              for t in (a.survey, mixed_survey)],
        # One here; every topic that touches data: test_webhooks_and_jobs_of_shop_a_never_reach_shop_b.
        # The same email in both shops: an import for A sets A's Ana only.
        ("admin.loyalty_import_dry_run", "POST"): [("post", "/api/loyalty-import/dry-run", {
            "headers": auth, "json": {"csv": IMPORT_CSV}})],
        ("admin.loyalty_import_apply", "POST"): [("post", "/api/loyalty-import/apply", {
            "headers": auth, "json": {"csv": IMPORT_CSV}})],
        ("admin.put_email_flow", "PUT"): [("put", "/api/emails/flows/welcome", {
            "headers": auth, "json": {"enabled": False}})],
        ("admin.whatif_runs", "GET"): [("get", "/api/whatif", {"headers": auth})],
        ("admin.whatif_run", "GET"): [("get", f"/api/whatif/{b.whatif_run_id}", {"headers": auth})],
        ("admin.whatif_start", "POST"): [("post", "/api/whatif", {"headers": auth, "json": {"program": program}})],
        ("admin.api_key_create", "POST"): [("post", "/api/api-keys", {"headers": auth, "json": {"name": "otra"}})],
        ("admin.api_key_revoke", "DELETE"): [("delete", f"/api/api-keys/{b.api_key_id}", {"headers": auth})],
        ("admin.developers", "GET"): [("get", "/api/developers", {"headers": auth})],
        ("admin.billing", "GET"): [("get", "/api/billing", {"headers": auth})],
        ("admin.billing_sync", "POST"): [("post", "/api/billing/sync", {"headers": auth})],
        ("admin.billing_subscribe", "POST"): [("post", "/api/billing/subscribe", {"headers": auth,
                                                                                 "json": {"plan": "no-such-plan"}})],
        ("billing.billing_return", "GET"): [("get", f"/billing/return?shop={A}&charge_id=1", {})],
        ("admin.judgeme_connect", "PUT"): [("put", "/api/review-integrations/judgeme", {
            "headers": auth, "json": {"secret": "judgeme-secret-nuevo"}})],
        ("admin.yotpo_connect", "POST"): [("post", "/api/review-integrations/yotpo", {"headers": auth})],
        ("admin.review_disconnect", "DELETE"): [("delete", "/api/review-integrations/yotpo", {"headers": auth})],
        ("admin.webhook_endpoints", "GET"): [("get", "/api/webhooks", {"headers": auth})],
        ("admin.webhook_register", "POST"): [("post", "/api/webhooks", {
            "headers": auth, "json": {"url": f"https://hooks.{B}/robado", "topics": []}})],
        ("admin.webhook_change", "PATCH"): [("patch", f"/api/webhooks/{b.endpoint_id}", {
            "headers": auth, "json": {"enabled": False}})],
        ("admin.webhook_remove", "DELETE"): [("delete", f"/api/webhooks/{b.endpoint_id}", {"headers": auth})],
        ("admin.webhook_rotate_secret", "POST"): [("post", f"/api/webhooks/{b.endpoint_id}/rotate-secret",
                                                   {"headers": auth})],
        ("admin.webhook_deliveries", "GET"): [("get", f"/api/webhooks/deliveries?endpoint_id={b.endpoint_id}",
                                               {"headers": auth})],
        # A's review integration's signature and token, aimed at B's hook URL.
        ("reviews.judgeme", "POST"): [("post", f"/hooks/reviews/judgeme/{B}", {
            "data": review, "headers": {"JUDGEME-HMAC-SHA256": signed_by_a, "Content-Type": "application/json"}})],
        ("reviews.yotpo", "POST"): [("post", f"/hooks/reviews/yotpo/{B}?token={a.yotpo_token}",
                                     {"json": yotpo_review()})],
        # A's API key: the same customer id and email resolve to A's customer only.
        ("open_api.actions", "GET"): [("get", "/v1/actions", {"headers": api})],
        ("open_api.rewards", "GET"): [("get", "/v1/rewards", {"headers": api})],
        ("open_api.document", "GET"): [("get", "/v1/openapi.json", {})],
        ("open_api.customer_by_email", "GET"): [("get", f"/v1/customers?email={ANA_EMAIL}", {"headers": api})],
        ("open_api.customer_detail", "GET"): [("get", f"/v1/customers/{ANA}", {"headers": api})],
        ("open_api.customer_ledger", "GET"): [("get", f"/v1/customers/{ANA}/ledger", {"headers": api})],
        ("open_api.adjust", "POST"): [("post", f"/v1/customers/{ANA}/adjust", {
            "headers": dict(api, **{"Idempotency-Key": "t-1"}), "json": {"points": 3, "reason": "api"}})],
        ("open_api.award_action", "POST"): [("post", f"/v1/customers/{ANA}/actions/review", {
            "headers": dict(api, **{"Idempotency-Key": "t-2"}), "json": {}})],
        ("open_api.redeem", "POST"): [("post", f"/v1/customers/{ANA}/redeem", {
            "headers": dict(api, **{"Idempotency-Key": "t-3"}), "json": {"reward_id": "5off"}})],
        ("webhooks.receive_webhook", "POST"): [("post", "/webhooks", {"data": update, "headers": webhook_headers(
            update, "customers/update", shop=A)})],
    }


def _shop(world: World, domain: str) -> Shop:
    with world.app_state.db.transaction() as session:
        return session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()


def _customer(world: World, customer_id: int) -> Customer:
    with world.app_state.db.transaction() as session:
        return session.get(Customer, customer_id)


def _message_id(world: World, outbox_id: int) -> str:
    with world.app_state.db.transaction() as session:
        return session.get(OutboxMessage, outbox_id).message_id


def _balance(world: World, customer_id: int) -> int:
    with world.app_state.db.transaction() as session:
        return session.get(Customer, customer_id).points_available


def test_every_route_has_a_case_and_none_lets_shop_a_reach_shop_b(world):
    cases = _route_cases(world)
    rules = {(rule.endpoint, method) for rule in world.app.url_map.iter_rules()
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules - set(cases) == set(), "a route without a tenant-isolation case: add one to _route_cases"
    assert set(cases) - rules == set(), "a case for a route that no longer exists"
    probe, problems = Probe(world), []
    for (endpoint, _method), requests in sorted(cases.items()):
        for method, path, kwargs in requests:
            response = getattr(world.client, method)(path, **kwargs)
            problems += probe.check(f"{method.upper()} {path[:70]} ({endpoint})", [response.get_data(as_text=True)],
                                    [response.status_code])
    print(f"\ntenant isolation: {len(cases)} routes, {sum(map(len, cases.values()))} requests as shop A,"
          f" {len(problems)} problems")
    assert problems == [], "\n".join(problems)
    with world.app_state.db.transaction() as session:  # the cases reached A's data, not only refusals
        assert session.execute(select(LedgerEntry.available).where(
            LedgerEntry.customer_id == world.a.ana_id, LedgerEntry.reason == "gesture")).scalars().all() == [25]


def test_answers_to_shop_a_show_shop_a(world):
    """The same ids and emails resolve to A's own rows (the positive side of the checks above)."""
    auth = _admin(world)
    detail = world.client.get(f"/api/customers/{ANA}", headers=auth).get_data(as_text=True)
    assert "Alfonsina" in detail and "Brunilda" not in detail
    api = world.client.get(f"/v1/customers/{ANA}", headers={"Authorization": f"Bearer {world.a.api_key}"})
    assert api.status_code == 200 and api.get_json()["email"] == ANA_EMAIL and "4321" not in api.get_data(as_text=True)
    widget = world.client.get(f"/proxy/customer?{_proxy(ANA)}").get_json()
    assert "4321" not in json.dumps(widget) and "1000" in json.dumps(widget)
    landing = world.client.get(f"/r/{world.a.referral_code}", headers={"User-Agent": "Mozilla/5.0"})
    assert landing.status_code == 302 and A in landing.headers["Location"]
    with world.app_state.db.transaction() as session:
        assert session.execute(select(ReferralClick.shop_id).order_by(ReferralClick.id.desc())).scalars().first() \
            == world.a.shop_id


def test_a_signed_link_naming_another_shops_customer_is_refused(world):
    """Survey links are signed by us with the shop and customer inside; one naming a customer of
    another shop (a mix-up, or a leaked secret) records no score, opens no case and emails no
    merchant about that customer."""
    token = survey_token(world.app_state.config.secret_key, _shop(world, A), _customer(world, world.b.amiga_id),
                         "800777", "#7", "nps", utcnow() + timedelta(days=1))
    for method, path, kwargs in (("get", f"/survey/{token}?score=2", {}), ("post", f"/survey/{token}",
                                 {"data": {"score": "2"}}), ("post", f"/survey/{token}/comment", {"data": {"comment": "x"}})):
        response = getattr(world.client, method)(path, **kwargs)
        assert response.status_code == 404 and "Brunilda" not in response.get_data(as_text=True)
    with world.app_state.db.transaction() as session:
        assert session.execute(select(SurveyResponse).where(SurveyResponse.order_id == "800777")).first() is None


def test_the_same_referral_code_cannot_belong_to_both_shops(world):
    """Referral links (/r/<code>) carry no shop: a code is unique across every shop, so a landing
    can only ever resolve to one shop's advocate."""
    with pytest.raises(Exception, match="unique|duplicate"), world.app_state.db.transaction() as session:
        session.get(Customer, world.b.amiga_id).referral_code = world.a.referral_code
        session.flush()


# --- webhooks and jobs -----------------------------------------------------------------------

def _redact(customer_id: str, email: str) -> dict:
    return {"shop_id": 1, "shop_domain": A, "customer": {"id": int(customer_id), "email": email, "phone": None},
            "orders_to_redact": [ORDER_ID]}


def test_webhooks_and_jobs_of_shop_a_never_reach_shop_b(world):
    a, probe, problems = world.a, Probe(world), []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("orders/paid (award) with B's order id", lambda: _send(world.client, A, "orders/paid", payable(
            id=ORDER_ID + 1, email=AMIGA_EMAIL, customer=_customer_payload(AMIGA, AMIGA_EMAIL, "Alfonsina", "A")))),
        ("refunds/create (clawback) for the order id both shops have", lambda: _send(
            world.client, A, "refunds/create", _refund(ORDER_ID))),
        ("orders/cancelled for the order id both shops have", lambda: _send(
            world.client, A, "orders/cancelled", payable(id=ORDER_ID, cancelled_at=utcnow().isoformat(),
                                                         cancel_reason="customer", financial_status="voided"))),
        ("customers/update with B's emails", lambda: _send(world.client, A, "customers/update", _customer_payload(
            ANA, ANA_EMAIL, "Alfonsina", "Aguirre"))),
        ("redeem (proxy) of the reward B also redeemed", lambda: world.client.post(
            f"/proxy/redeem?{_proxy(ANA)}", json={"reward_id": "5off"})),
        ("email send job for A's row", lambda: send_outbox_message(world.app_state, a.outbox_id,
                                                                   utcnow() + timedelta(hours=1))),
        ("email send tick", lambda: send_due_messages(world.app_state, utcnow() + timedelta(hours=1))),
        ("metafield sync job for A's customer", lambda: sync_customer_metafields_job(a.ana_id, 10**6)),
        ("tier sync job", lambda: reevaluate_tiers_job(world.app_state, utcnow() + timedelta(minutes=3))),
        ("customers/data_request for the id both shops have", lambda: _send(world.client, A, "customers/data_request", {
            "shop_id": 1, "shop_domain": A, "orders_requested": [ORDER_ID], "data_request": {"id": 9},
            "customer": {"id": int(ANA), "email": ANA_EMAIL, "phone": None}})),
        ("customers/redact (purge) for the id and email both shops have", lambda: _send(
            world.client, A, "customers/redact", _redact(ANA, ANA_EMAIL))),
        # Within minutes of the settling ticks, so nothing periodic of B's own falls due.
        ("whole tick", lambda: run_tick(world.app_state, utcnow() + timedelta(minutes=3))),
        ("app/uninstalled", lambda: _send(world.client, A, "app/uninstalled", {"id": 1, "domain": A})),
        ("shop/redact (purge the shop)", lambda: _send(world.client, A, "shop/redact",
                                                       {"shop_id": 1, "shop_domain": A})),
        ("tick after the purge", lambda: run_tick(world.app_state, utcnow() + timedelta(minutes=4))),
    ]
    for name, step in steps:
        step()
        problems += probe.check(name, [], [])
    print(f"\ntenant isolation: {len(steps)} webhook and job steps as shop A, {len(problems)} problems")
    assert problems == [], "\n".join(problems)
    with world.app_state.db.transaction() as session:  # and A's side did happen
        assert session.execute(select(Shop).where(Shop.domain == A)).scalar_one_or_none() is None or \
            session.execute(Customer.for_shop(a.shop_id)).first() is None


def _refund(order_id: int) -> dict:
    return refund_payload(payable(id=order_id), order_id * 10 + 7, [0], utcnow())


# --- CLI ------------------------------------------------------------------------------------

# Commands that take no shop: they act for every shop by design (the operator's), and are
# proven elsewhere: ``tick`` in the jobs test above, ``db upgrade`` by test_migrations.py.
# Every other command runs below as shop A.
OPERATOR_WIDE = {
    "db upgrade": "schema only, no shop data",
    "tick": "every shop's scheduled work: test_webhooks_and_jobs_of_shop_a_never_reach_shop_b runs it",
    "demo": "builds its own demo shop; never run against real shops",
    "doctor": "reads the configuration, no shop data",
}


def _cli_cases(world: World, tmp_path) -> dict[str, list[list[str]]]:
    a, b = world.a, world.b
    program_file = tmp_path / "program.json"
    program_file.write_text(json.dumps(dump_program(default_program("USD", "es"))))
    import_file = tmp_path / "smile.csv"
    import_file.write_text(IMPORT_CSV)
    return {
        "import": [["import", "--shop", A]],
        "inbox": [["inbox", "--shop", A]],
        "inbox retry": [["inbox", "retry", "--id", str(b.delivery_id), "--shop", A],
                        ["inbox", "retry", "--status", "dead", "--shop", A]],
        "referrals list": [["referrals", "list", "--shop", A]],
        "referrals approve": [["referrals", "approve", "--shop", A, str(b.referral_id)]],
        "referrals reject": [["referrals", "reject", "--shop", A, "--reason", "no", str(b.referral_id)]],
        "program import": [["program", "import", "--shop", A, str(program_file)]],
        "program export": [["program", "export", "--shop", A]],
        "points adjust": [["points", "adjust", "--shop", A, "--customer", ref, "--points", "7", "--reason", "cli"]
                          for ref in (ANA, ANA_EMAIL)],
        "points birthday": [["points", "birthday", "--shop", A, "--customer", ANA_EMAIL, "--date", "1990-01-02"]],
        "points show": [["points", "show", "--shop", A, "--customer", ref] for ref in (ANA, ANA_EMAIL)],
        "points verify": [["points", "verify", "--shop", A, "--repair"]],
        "checkouts stats": [["checkouts", "stats", "--shop", A]],
        "outbox": [["outbox", "--shop", A]],
        "complaints list": [["complaints", "list", "--shop", A]],
        "complaints answer": [["complaints", "answer", "--shop", A, str(b.complaint_id), "lo sentimos"]],
        "complaints close": [["complaints", "close", "--shop", A, str(b.complaint_id)]],
        "shop add": [["shop", "add", "--shop", A, "--token", a.token, "--offline", "--currency", "USD"]],
        "program whatif": [["program", "whatif", "--shop", A, "--json", str(program_file)]],
        "import-loyalty": [["import-loyalty", "--shop", A, str(import_file)],
                           ["import-loyalty", "--shop", A, "--apply", str(import_file)]],
        "webhooks add": [["webhooks", "add", "--shop", A, "--url", "http://127.0.0.1:9/a"]],
        "webhooks list": [["webhooks", "list", "--shop", A]],
        "webhooks deliveries": [["webhooks", "deliveries", "--shop", A]],
        "webhooks enable": [["webhooks", "enable", "--shop", A, str(b.endpoint_id)]],
        "webhooks remove": [["webhooks", "remove", "--shop", A, str(b.endpoint_id)]],
    }


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _leaf_commands(command, (*path, name))
            if command.invoke_without_command:
                found.add(" ".join((*path, name)))
        else:
            found.add(" ".join((*path, name)))
    return found


def test_every_cli_command_has_a_case_and_none_reaches_shop_b(world, tmp_path):
    cases = _cli_cases(world, tmp_path)
    commands = _leaf_commands(world.app.cli.commands["embajador"])
    missing = commands - set(cases) - set(OPERATOR_WIDE)
    assert missing == set(), "a CLI command without a tenant-isolation case: add one to _cli_cases"
    runner, probe, problems = world.app.test_cli_runner(), Probe(world), []
    for _name, invocations in sorted(cases.items()):
        for args in invocations:
            result = runner.invoke(args=["embajador", *args])
            if result.exception and not isinstance(result.exception, SystemExit):
                problems.append(f"{' '.join(args)}: {type(result.exception).__name__}: {result.exception}")
            problems += probe.check(" ".join(args), [result.output], [])
    print(f"\ntenant isolation: {len(commands)} CLI commands ({len(cases)} run as shop A,"
          f" {sum(map(len, cases.values()))} invocations; {len(OPERATOR_WIDE)} operator-wide), {len(problems)} problems")
    assert problems == [], "\n".join(problems)
    with world.app_state.db.transaction() as session:  # both `points adjust` forms reached A's Ana
        assert session.execute(select(LedgerEntry.available).where(
            LedgerEntry.customer_id == world.a.ana_id, LedgerEntry.reason == "cli")).scalars().all() == [7, 7]


def test_unchanged_means_unchanged(world):
    """The probe itself notices a change to B (so a silent probe is not a blind one)."""
    probe = Probe(world)
    with world.app_state.db.transaction() as session:
        session.get(Customer, world.b.ana_id).points_available += 1
    assert any("shop B changed: customers" in p for p in probe.check("control", [], []))
    assert probe.check("control", ["Tienda Brunilda"], []) != []
