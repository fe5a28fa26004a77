"""Payload → typed facts for the topic handlers; a payload we cannot use is ``MalformedPayload``."""
from __future__ import annotations

from plugin.loyalty.rules.clawback import RefundFacts, refund_facts_from_payload
from plugin.loyalty.rules.earning import OrderFacts, OrderPayloadError, order_facts_from_payload
from webhooks.inbox import MalformedPayload
from webhooks.processing import HandlerContext


def order_facts(ctx: HandlerContext) -> OrderFacts:
    try:
        return order_facts_from_payload(ctx.payload, ctx.shop.currency)
    except OrderPayloadError as exc:
        raise MalformedPayload(f"order payload: {exc}") from None


def refund_facts(ctx: HandlerContext) -> RefundFacts:
    try:
        return refund_facts_from_payload(ctx.payload, ctx.shop.currency)
    except OrderPayloadError as exc:
        raise MalformedPayload(f"refund payload: {exc}") from None


def source(ctx: HandlerContext) -> str:
    """What ledger entries and events name as their origin."""
    return f"delivery:{ctx.delivery.id}"
