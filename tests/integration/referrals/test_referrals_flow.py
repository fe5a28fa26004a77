"""A friend lands on an advocate's link, buys with the friend code, and the advocate is rewarded once."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

from plugin.loyalty.status import customer_status
from plugin.models import LedgerEntry
from tests.integration.referrals.conftest import (
    ADVOCATE,
    FRIEND,
    advocate_with_history,
    clicks,
    customer,
    events,
    friend_code_from,
    land,
    pay,
    referral_entries,
    referrals,
    refund_payload,
)
from tests.shopify_requests import SHOP, post_webhook


def test_unknown_code_is_a_friendly_404(client, shop_fake):
    response = client.get("/r/NOSUCHCODE22")
    assert response.status_code == 404
    assert "no existe" in response.get_data(as_text=True)
    assert shop_fake.discounts == []


def test_landing_records_a_hashed_click_and_sends_the_friend_to_the_shop_with_a_code(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    assert link["url"] == f"https://embajador.test/r/{link['code']}" and len(link["code"]) >= 10

    response = land(client, link["code"], FRIEND)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("https", SHOP)
    code = friend_code_from(response)
    assert code.startswith("AMIGO-") and location.path == f"/discount/{code}"
    assert parse_qs(location.query)["redirect"] == [f"/?embajador_ref={link['code']}"]

    [discount] = shop_fake.discounts
    assert discount["code"] == code
    assert discount["context"] == {"all": "ALL"}  # bound to no customer: the friend has no account yet
    assert discount["usageLimit"] == 1 and discount["appliesOncePerCustomer"] is True
    assert discount["customerGets"]["value"] == {"percentage": 0.1}

    [click] = clicks(app_state)
    expected = hmac.new(b"test-secret-key", f"ip\n{FRIEND['ip']}".encode(), hashlib.sha256).hexdigest()
    assert click.ip_hash == expected and FRIEND["ip"] not in (click.ip_hash or "")
    assert click.friend_code == code and click.advocate_id == link["customer_id"]


def test_same_visitor_within_a_day_reuses_the_code_another_visitor_gets_a_new_one(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    first = friend_code_from(land(client, link["code"], FRIEND))
    again = friend_code_from(land(client, link["code"], FRIEND))
    other = friend_code_from(land(client, link["code"], dict(FRIEND, ip="192.0.2.99")))
    assert first == again != other
    assert [d["code"] for d in shop_fake.discounts] == [first, other]
    assert len(clicks(app_state)) == 3


def test_hammering_a_link_cannot_mint_discount_codes(client, app_state, shop_fake):
    from plugin.referrals.landing import CODES_PER_IP_PER_DAY
    link = advocate_with_history(client, app_state)
    same_ip_new_browsers = [friend_code_from(land(client, link["code"], dict(FRIEND, ua=f"Mozilla/5.0 x{n}")))
                            for n in range(5)]
    assert len(set(same_ip_new_browsers)) == 1  # a new user agent is not a new visitor
    for n in range(CODES_PER_IP_PER_DAY + 3):  # one IP across many advocates' links is capped too
        other = advocate_with_history(client, app_state, dict(ADVOCATE, id=7400000000100000 + n,
                                                              email=f"adv{n}@example.com", ip=f"203.0.113.{n}"))
        land(client, other["code"], FRIEND)
    assert len(shop_fake.discounts) == CODES_PER_IP_PER_DAY
    response = land(client, link["code"], dict(FRIEND, ip="198.51.100.7"))
    assert response.status_code == 302  # a new visitor still lands


def test_nul_bytes_in_a_code_are_a_404_not_a_500(client, shop_fake):
    assert client.get("/r/%00").status_code == 404
    assert client.get("/r/ABC%00DEF").status_code == 404


def test_shopify_refusing_the_code_still_sends_the_friend_to_the_shop(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    shop_fake.refuse.add("discountCodeBasicCreate")
    response = land(client, link["code"], FRIEND)
    assert response.status_code == 302
    assert response.headers["Location"] == f"https://{SHOP}/?embajador_ref={link['code']}"
    assert [c.friend_code for c in clicks(app_state)] == [None]


def test_friend_buying_with_the_code_rewards_the_advocate_once(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    code = friend_code_from(land(client, link["code"], FRIEND))
    payload = pay(client, FRIEND, codes=[code], event_id="evt-friend-paid")
    assert post_webhook(client, "orders/paid", payload, event_id="evt-friend-paid").get_json()["status"] == "duplicate"
    post_webhook(client, "orders/paid", payload, event_id="evt-friend-paid-retry")   # Shopify resends as a new event
    post_webhook(client, "orders/create", payload, event_id="evt-friend-create")    # created already paid

    [referral] = referrals(app_state)
    assert referral.status == "successful" and referral.hold_reasons == []
    assert referral.discount_code == code and referral.email == FRIEND["email"]
    [entry] = referral_entries(app_state, link["customer_id"])
    assert (entry.kind, entry.pending, entry.available) == ("referral", 500, 0)
    assert entry.available_at is not None
    advocate = customer(app_state, link["customer_id"])
    assert advocate.points_pending == 500 + 50  # her own order's 50 points are pending too
    [event] = events(app_state, "referral_reward")
    assert event.customer_id == link["customer_id"]
    assert event.data["points_awarded"] == 500 and event.data["friend_first_name"] == "Martina"
    with app_state.db.transaction() as session:
        from plugin.models import Shop
        shop = session.query(Shop).one()
        status = customer_status(session, shop, session.get(type(advocate), advocate.id), advocate.created_at)
        assert status.metrics["referrals"] == 1


def test_the_landing_reference_attributes_an_order_without_the_code(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    pay(client, FRIEND, attrs=[("embajador_ref", link["code"])])
    [referral] = referrals(app_state)
    assert referral.status == "successful" and referral.discount_code is None
    assert len(referral_entries(app_state, link["customer_id"])) == 1


def test_orders_without_a_referral_create_nothing(client, app_state, shop_fake):
    advocate_with_history(client, app_state)
    pay(client, FRIEND, codes=["BLACKFRIDAY"])
    assert referrals(app_state) == []


def test_a_refund_in_the_pending_window_cancels_the_advocate_reward(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    payload = pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    response = post_webhook(client, "refunds/create", refund_payload(payload["id"]))
    assert response.status_code == 200
    post_webhook(client, "refunds/create", refund_payload(payload["id"]))  # another refund: nothing more

    [referral] = referrals(app_state)
    assert referral.status == "cancelled"
    award, clawback = referral_entries(app_state, link["customer_id"])
    assert (clawback.kind, clawback.pending, clawback.ref) == ("clawback", -500, award.key)
    assert customer(app_state, link["customer_id"]).points_pending == 50


def test_a_cancelled_friend_order_cancels_the_reward(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    payload = pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    cancelled = dict(payload, cancelled_at="2026-11-21T09:00:00-03:00", financial_status="voided")
    post_webhook(client, "orders/cancelled", cancelled)
    assert [r.status for r in referrals(app_state)] == ["cancelled"]
    assert sum(e.pending for e in referral_entries(app_state, link["customer_id"])) == 0


def test_second_paid_order_invites_the_customer_to_refer_once(client, app_state, shop_fake):
    pay(client, FRIEND)
    assert events(app_state, "referral_invite") == []
    pay(client, FRIEND)
    pay(client, FRIEND)
    [invite] = events(app_state, "referral_invite")
    assert invite.data["referral_url"].startswith("https://embajador.test/r/")
    assert invite.data["advocate_points"] == 500
    assert invite.data["friend_reward"] == {"type": "percentage", "value": "10"}
    with app_state.db.transaction() as session:
        assert session.query(LedgerEntry).filter(LedgerEntry.kind == "earn").count() == 3


def test_customers_redact_wipes_the_friend_email_and_hashes_from_referrals(client, app_state, shop_fake):
    from sqlalchemy import select

    from plugin.models import CustomerFingerprint
    link = advocate_with_history(client, app_state)
    pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    redact = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": FRIEND["id"], "email": FRIEND["email"]},
              "orders_to_redact": []}
    assert post_webhook(client, "customers/redact", redact).status_code == 200
    [referral] = referrals(app_state)
    assert referral.email is None and referral.status == "successful"
    with app_state.db.transaction() as session:
        hashes = session.execute(select(CustomerFingerprint.value_hash)
                                 .where(CustomerFingerprint.customer_id == referral.customer_id)).scalars().all()
    assert hashes and all(h is None for h in hashes)


def test_the_storefront_link_counts_the_shoppers_referrals(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    assert link["counts"] == {"successful": 0, "pending": 0}
    pay(client, FRIEND, codes=[friend_code_from(land(client, link["code"], FRIEND))])
    pay(client, ADVOCATE, attrs=[("embajador_ref", link["code"])])  # her own: held, shown as pending
    again = advocate_with_history(client, app_state)
    assert again["code"] == link["code"] and again["url"] == link["url"]
    assert again["counts"] == {"successful": 1, "pending": 1}


def test_a_chat_app_previewing_the_link_spends_no_code(client, app_state, shop_fake):
    link = advocate_with_history(client, app_state)
    preview = land(client, link["code"], dict(FRIEND, ua="WhatsApp/2.23.20.0 A"))
    assert preview.status_code == 302
    assert preview.headers["Location"] == f"https://{SHOP}/?embajador_ref={link['code']}"
    assert shop_fake.discounts == []
    assert friend_code_from(land(client, link["code"], FRIEND)).startswith("AMIGO-")  # the friend still gets one


def test_parallel_landings_from_one_visitor_mint_one_code(client, app_state, shop_fake):
    import threading

    from plugin.models import utcnow
    from plugin.referrals import landing
    link = advocate_with_history(client, app_state)
    barrier, codes = threading.Barrier(10), []

    def visit(n):
        barrier.wait()
        codes.append(landing.land(app_state, link["code"], FRIEND["ip"], f"ua{n}", utcnow()).friend_code)

    threads = [threading.Thread(target=visit, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(codes) == 10 and len(set(codes)) == 1
    assert len(shop_fake.discounts) == 1


def test_the_invite_check_is_one_query_per_paid_order(client, app_state, shop_fake):
    """Whether the invite exists and whether another order earned are one round trip, on the
    first order (no invite, no earlier order) and on the second (the invite is recorded)."""
    from sqlalchemy import event
    reads: list[str] = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().startswith("SELECT") and "customer_events" in statement:
            reads.append(statement)
    event.listen(app_state.db.engine, "before_cursor_execute", note)
    try:
        pay(client, FRIEND)
        first = list(reads)
        pay(client, FRIEND)
    finally:
        event.remove(app_state.db.engine, "before_cursor_execute", note)
    assert len(first) == 1 and "ledger_entries" in first[0]
    assert len(events(app_state, "referral_invite")) == 1
