"""Win-back: lapsed, subscribed customers get one personalised single-use code per
inactivity period (created once in Shopify, even across retries) and a win_back email."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from emails.delivery.outbox import message_id_for
from emails.delivery.scheduling import send_due_messages
from plugin.feedback.win_back import send_win_backs
from plugin.jobs.tick import TICK_TASKS
from plugin.models import LedgerEntry, LoyaltyOrder, OutboxMessage, utcnow
from plugin.models.email import WinBackOffer
from tests.integration.emails.conftest import add_customer, setup_shop, validate_all
from tests.shopify_requests import SHOP


def _earned(app_state, shop_id, customer_id, at, order_id):
    """An order we awarded points for, at its purchase time."""
    with app_state.db.transaction() as session:
        session.add(LedgerEntry(shop_id=shop_id, customer_id=customer_id, key=f"order:{order_id}:earn", kind="earn",
                                available=100, reason="order", source="test", order_id=order_id, occurred_at=at))


def _seen(app_state, shop_id, customer_id, at, order_id):
    """An order we only noted (no points), seen at ``at``."""
    with app_state.db.transaction() as session:
        session.add(LoyaltyOrder(shop_id=shop_id, order_id=order_id, customer_id=customer_id, created_at=at))


def _customer(app_state, shop_id, name, **kw) -> int:
    return add_customer(app_state, shop_id, email=f"{name.lower()}@example.com", first=name,
                        shopify_id=str(abs(hash(name)) % 10**12), **kw)


def _offers(app_state) -> list[WinBackOffer]:
    with app_state.db.transaction() as session:
        return session.execute(select(WinBackOffer).order_by(WinBackOffer.id)).scalars().all()


def _outbox(app_state) -> list[OutboxMessage]:
    with app_state.db.transaction() as session:
        return session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def test_win_back_reaches_exactly_the_lapsed_subscribed_customers_once(sg_app, sink, fake_admin,
                                                                       mail_send_validator):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    now = utcnow()
    lapsed = _customer(app_state, shop_id, "Lucia", points=2500)
    _earned(app_state, shop_id, lapsed, now - timedelta(days=200), "1")
    _earned(app_state, shop_id, lapsed, now - timedelta(days=120), "2")
    lapsed_seen = _customer(app_state, shop_id, "Mateo")
    _seen(app_state, shop_id, lapsed_seen, now - timedelta(days=91), "3")
    recent = _customer(app_state, shop_id, "Sofia")
    _earned(app_state, shop_id, recent, now - timedelta(days=300), "4")
    _seen(app_state, shop_id, recent, now - timedelta(days=20), "5")
    unsubscribed = _customer(app_state, shop_id, "Diego", consent="UNSUBSCRIBED")
    _earned(app_state, shop_id, unsubscribed, now - timedelta(days=150), "6")
    _customer(app_state, shop_id, "Nunca")  # subscribed, never ordered
    just_inside = _customer(app_state, shop_id, "Ana")
    _earned(app_state, shop_id, just_inside, now - timedelta(days=89), "7")

    assert send_win_backs(app_state, now) == {"opened": 2, "created": 2}
    offers = _offers(app_state)
    assert sorted(o.customer_id for o in offers) == sorted([lapsed, lapsed_seen])
    assert sorted(d["code"] for d in fake_admin.discounts) == sorted(o.code for o in offers)
    with app_state.db.transaction() as session:
        from plugin.models import Customer
        gids = {c.id: f"gid://shopify/Customer/{c.shopify_id}" for c in session.execute(select(Customer)).scalars()}
    for offer in offers:
        discount = next(d for d in fake_admin.discounts if d["code"] == offer.code)
        assert discount["context"] == {"customers": {"add": [gids[offer.customer_id]]}}
        assert discount["usageLimit"] == 1 and discount["appliesOncePerCustomer"] is True
        assert discount["customerGets"]["value"] == {"percentage": 0.1}
        assert offer.expires_at - offer.created_at == timedelta(days=14)

    rows = _outbox(app_state)
    assert [r.flow for r in rows] == ["win_back", "win_back"] and {r.status for r in rows} == {"queued"}
    lucia = next(r for r in rows if r.customer_id == lapsed)
    code = next(o.code for o in offers if o.customer_id == lapsed)
    assert lucia.message_id == message_id_for(SHOP, f"win_back:{lapsed}:{(now - timedelta(days=120)).date()}")
    assert code in lucia.text and "10" in lucia.subject and "Lucia" in lucia.text and "2.500" in lucia.text

    # Running again (same instant, next minute, next hours) opens nothing and creates no code.
    for later in (now, now + timedelta(minutes=1), now + timedelta(hours=12)):
        assert send_win_backs(app_state, later) == {"opened": 0}
    assert len(fake_admin.discounts) == 2 and len(_outbox(app_state)) == 2

    send_due_messages(app_state, utcnow() + timedelta(seconds=1))  # rows are due from when they were queued
    validate_all(sink, mail_send_validator)
    assert len(sink.requests) == 1
    body = sink.requests[0]["body"]
    assert body["categories"] == ["embajador", "marketing", "win-back"] and body["asm"] == {"group_id": 321}
    by_email = {p["to"][0]["email"]: p for p in body["personalizations"]}
    assert set(by_email) == {"lucia@example.com", "mateo@example.com"}
    assert by_email["lucia@example.com"]["substitutions"]["-discount_code-"] == code
    assert code in next(r for r in _outbox(app_state) if r.customer_id == lapsed).html

    # Ana crosses the 90 days two days later: hers alone, once.
    assert send_win_backs(app_state, now + timedelta(days=2)) == {"opened": 1, "created": 1}
    assert send_win_backs(app_state, now + timedelta(days=3)) == {"opened": 0}
    assert [o.customer_id for o in _offers(app_state)][-1] == just_inside and len(fake_admin.discounts) == 3


def test_shopify_failure_is_retried_next_tick_with_the_same_code(sg_app, fake_admin):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    now = utcnow()
    customer_id = _customer(app_state, shop_id, "Lucia")
    _earned(app_state, shop_id, customer_id, now - timedelta(days=100), "1")
    fake_admin.refuse.add("discountCodeBasicCreate")

    assert send_win_backs(app_state, now) == {"opened": 1, "retry": 1}
    offer = _offers(app_state)[0]
    assert (offer.status, offer.attempts) == ("pending", 1) and "refused by the test" in offer.error
    assert _outbox(app_state) == [] and fake_admin.discounts == []

    fake_admin.refuse.clear()
    assert send_win_backs(app_state, now + timedelta(seconds=30)) == {"opened": 0}  # backoff: next tick
    assert send_win_backs(app_state, now + timedelta(minutes=1)) == {"opened": 0, "created": 1}
    asked = [v["basicCodeDiscount"]["code"] for v in fake_admin.operations("discountCodeBasicCreate")]
    assert asked == [offer.code, offer.code]  # the retry re-sent the stored code
    assert [d["code"] for d in fake_admin.discounts] == [offer.code]
    offer = _offers(app_state)[0]
    assert (offer.status, offer.attempts, offer.error) == ("created", 2, None)
    assert [r.flow for r in _outbox(app_state)] == ["win_back"]
    assert send_win_backs(app_state, now + timedelta(minutes=5)) == {"opened": 0}
    assert len(fake_admin.discounts) == 1 and len(_outbox(app_state)) == 1


def test_crash_after_shopify_created_the_code_never_creates_a_second_one(sg_app, fake_admin):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state)
    now = utcnow()
    customer_id = _customer(app_state, shop_id, "Lucia")
    _earned(app_state, shop_id, customer_id, now - timedelta(days=100), "1")
    fake_admin.refuse.add("discountCodeBasicCreate")
    send_win_backs(app_state, now)
    offer = _offers(app_state)[0]
    fake_admin.refuse.clear()
    fake_admin.discounts.append({"code": offer.code, "id": "gid://shopify/DiscountCodeNode/1"})  # it did exist

    assert send_win_backs(app_state, now + timedelta(minutes=1)) == {"opened": 0, "created": 1}
    assert [d["code"] for d in fake_admin.discounts] == [offer.code]
    assert _offers(app_state)[0].status == "created"
    assert offer.code in _outbox(app_state)[0].text


def test_a_new_inactivity_period_earns_a_new_win_back_and_consent_is_rechecked(sg_app, fake_admin):
    app_state = sg_app.extensions["embajador"]
    shop_id = setup_shop(app_state, emails={"win_back_days": 60, "frequency_cap": 5})
    now = utcnow()
    customer_id = _customer(app_state, shop_id, "Lucia")
    _earned(app_state, shop_id, customer_id, now - timedelta(days=61), "1")
    assert send_win_backs(app_state, now)["opened"] == 1
    _earned(app_state, shop_id, customer_id, now + timedelta(days=1), "2")  # came back
    assert send_win_backs(app_state, now + timedelta(days=30)) == {"opened": 0}
    later = now + timedelta(days=62)
    assert send_win_backs(app_state, later) == {"opened": 1, "created": 1}
    assert len(fake_admin.discounts) == 2 and len({o.code for o in _offers(app_state)}) == 2
    assert len({r.message_id for r in _outbox(app_state)}) == 2

    # Lapsed again, but consent withdrawn before the code was made: no code, no email.
    _earned(app_state, shop_id, customer_id, later + timedelta(days=1), "3")
    fake_admin.refuse.add("discountCodeBasicCreate")
    much_later = later + timedelta(days=70)
    send_win_backs(app_state, much_later)
    with app_state.db.transaction() as session:
        from plugin.models import Customer
        session.get(Customer, customer_id).marketing_state = "UNSUBSCRIBED"
    fake_admin.refuse.clear()
    assert send_win_backs(app_state, much_later + timedelta(minutes=1)) == {"opened": 0, "cancelled": 1}
    assert len(fake_admin.discounts) == 2 and len(_outbox(app_state)) == 2


def test_win_back_runs_in_the_tick_before_emails_are_sent():
    names = [name for name, _ in TICK_TASKS]
    assert ("win_back", "plugin.feedback.win_back.send_win_backs") in TICK_TASKS
    assert names.index("win_back") < names.index("email_send")
