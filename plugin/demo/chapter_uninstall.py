"""Chapter: the merchant uninstalls; Shopify revokes the token and we forget it."""
from __future__ import annotations

from sqlalchemy import select

from plugin.demo.stage import DEMO_SHOP
from plugin.models import Shop


def run(stage) -> None:
    stage.title("Finally, the merchant uninstalls (app/uninstalled)")
    stage.webhook("app/uninstalled", {"id": 548380009, "name": "Tienda Embajador", "domain": DEMO_SHOP,
                                      "myshopify_domain": DEMO_SHOP})
    with stage.app_state.db.transaction() as session:
        shop = session.execute(select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
        stage.say(f"shop installed={shop.installed}, token kept={shop.access_token_enc is not None}; "
                  "data stays until shop/redact (48 h) so a re-install keeps every balance")
