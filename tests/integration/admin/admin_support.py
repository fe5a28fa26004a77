"""Shared setup for the admin tests: two shops, one with a customer, a held referral, a
complaint, a data export, orders and a saved program; session tokens for either."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from plugin.loyalty.actions import adjust_points
from plugin.models import Complaint, Customer, CustomerDataExport, Referral, ReferralClick, Shop, SurveyResponse, utcnow
from plugin.orders.facts import OrderFacts
from plugin.orders.store import record_order
from tests.integration.conftest import add_shop, bearer, session_token
from tests.shopify_requests import SHOP

OTHER = "otra-tienda.myshopify.com"


@dataclass
class Seeded:
    shop_id: int
    customer_shopify_id: str
    referral_id: int
    complaint_id: int
    export_id: int


def auth(shop: str = SHOP) -> dict:
    return bearer(session_token(shop=shop))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def order(shop_id: int, session, order_id: int, customer: str | None, placed: str, total: str,
          cancelled: bool = False, current: str | None = None) -> None:
    record_order(session, shop_id, OrderFacts(
        order_id=str(order_id), customer_shopify_id=customer, placed_at=at(placed), total=Decimal(total),
        current_total=Decimal(current or total), currency="USD", financial_status="paid", cancelled=cancelled,
        source_name="web", updated_at=at(placed)))


def seed_shop(app_state, domain: str = OTHER) -> Seeded:
    """A shop with one of everything the admin shows, to prove other shops cannot reach it."""
    shop_id = add_shop(app_state, domain=domain)
    with app_state.db.transaction() as session:
        shop = session.get(Shop, shop_id)
        shop.settings = {"emails": {"from_email": "dueno@otra.test", "merchant_email": "dueno@otra.test"}}
        advocate = Customer(shop_id=shop_id, shopify_id="900001", email="ana@otra.test", first_name="Ana",
                            last_name="Secreta")
        friend = Customer(shop_id=shop_id, shopify_id="900002", email="amiga@otra.test", first_name="Amiga")
        session.add_all([advocate, friend])
        session.flush()
        adjust_points(session, shop, advocate, 700, "welcome gift", "cli", utcnow())
        click = ReferralClick(shop_id=shop_id, advocate_id=advocate.id, ip_hash="a" * 64, ua_hash="b" * 64)
        session.add(click)
        session.flush()
        referral = Referral(shop_id=shop_id, advocate_id=advocate.id, customer_id=friend.id, email="amiga@otra.test",
                            friend_order_id="800001", status="held", click_id=click.id,
                            hold_reasons=[{"code": "self_referral", "text": "same mailbox"}])
        survey = SurveyResponse(shop_id=shop_id, customer_id=friend.id, order_id="800001", order_name="#1",
                                survey_type="nps", score=3, comment="tarde")
        session.add_all([referral, survey])
        session.flush()
        complaint = Complaint(shop_id=shop_id, customer_id=friend.id, survey_response_id=survey.id,
                              order_id="800001", order_name="#1", score=3, comment="tarde")
        export = CustomerDataExport(shop_id=shop_id, customer_shopify_id="900002", data_request_id="1",
                                    data={"email": "amiga@otra.test"})
        session.add_all([complaint, export])
        order(shop_id, session, 800001, "900002", "2026-10-01T10:00:00", "99.00")
        session.flush()
        return Seeded(shop_id, "900001", referral.id, complaint.id, export.id)
