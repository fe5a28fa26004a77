"""Closing chapter: the durable inbox, as the operator sees it."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.models import WebhookDelivery


def run(stage) -> None:
    stage.title("The webhook inbox (every delivery stored before Shopify got its 200)")
    with stage.app_state.db.transaction() as session:
        rows = session.execute(select(WebhookDelivery.topic, WebhookDelivery.status)
                               .where(WebhookDelivery.shop_domain == DEMO_SHOP)).all()
    for (topic, status), count in sorted(Counter(rows).items()):
        stage.say(f"{topic:24} {status:10} × {count}")
    stage.say("see it any time with: flask --app plugin embajador inbox")
