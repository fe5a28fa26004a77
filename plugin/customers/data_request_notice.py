"""Tell the store owner a customers/data_request arrived and by when to answer (Shopify: 30 days,
https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance#customers-data_request)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from emails.delivery.outbox import queue_email
from emails.delivery.settings import EmailSettings
from plugin.app_state import state
from plugin.models import CustomerDataExport, Shop

ANSWER_WITHIN = timedelta(days=30)


def notify_merchant_of_data_request(session: Session, shop: Shop, export: CustomerDataExport) -> int | None:
    """Queue the merchant's email (once per export); None when no merchant address is known."""
    config = state().config
    settings = EmailSettings.for_shop(shop, config.sendgrid_from_email)
    if not settings.merchant_email:
        return None
    context = {"shop_name": shop.name or shop.domain, "shop_url": f"https://{shop.domain}",
               "customer_reference": export.customer_shopify_id,
               "due_on": (export.created_at + ANSWER_WITHIN).date(),
               "exports_url": f"{config.app_url.rstrip('/')}/complaints"}
    return queue_email(session, shop=shop, flow="data_request_received", to_email=settings.merchant_email,
                       message_key=f"data_request_received:{export.id}", locale=shop.primary_locale, context=context)
