"""The merchant's endpoints: register (URL checked and resolved now), list, change,
re-enable, rotate the secret, delete. Every function takes the shop id: no endpoint is
reachable from another shop."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from plugin.models import OutboundDelivery, OutboundEndpoint, OutboundEvent
from plugin.outbound.delivery import allows_loopback
from plugin.outbound.outbox import forget_endpoints
from plugin.outbound.rules.destinations import RefusedDestination, parse_destination
from plugin.outbound.rules.events import BadTopics, check_topics
from plugin.outbound.rules.signing import new_secret
from plugin.outbound.transport import TransportError, resolve

MAX_ENDPOINTS_PER_SHOP = 10


class EndpointError(ValueError):
    """Bad input; ``field`` names what to fix and ``str()`` says how."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class EndpointNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Registered:
    endpoint: OutboundEndpoint
    secret: str  # shown once; only its ciphertext is stored


def check_url(config, url) -> str:
    """Shape and every resolved address (raises EndpointError naming ``url``)."""
    try:
        destination = parse_destination(url, allows_loopback(config))
        resolve(destination, allows_loopback(config))
    except (RefusedDestination, TransportError) as exc:
        message = str(exc)
        raise EndpointError("url", message if message.startswith("url:") else f"url: {message}") from None
    return url.strip()


def _topics(topics) -> list[str]:
    try:
        return check_topics(topics)
    except BadTopics as exc:
        raise EndpointError("topics", str(exc)) from None


def register(session, app_state, shop_id: int, url, topics, now: datetime) -> Registered:
    count = session.execute(select(func.count()).select_from(OutboundEndpoint)
                            .where(OutboundEndpoint.shop_id == shop_id)).scalar_one()
    if count >= MAX_ENDPOINTS_PER_SHOP:
        raise EndpointError("url", f"url: at most {MAX_ENDPOINTS_PER_SHOP} endpoints per shop")
    chosen = _topics(topics)
    url = check_url(app_state.config, url)
    secret = new_secret()
    endpoint = OutboundEndpoint(shop_id=shop_id, url=url, topics=chosen, secret_enc=app_state.cipher.encrypt(secret),
                                enabled=True, created_at=now)
    session.add(endpoint)
    session.flush()
    forget_endpoints(session)
    return Registered(endpoint, secret)


def get(session, shop_id: int, endpoint_id: int) -> OutboundEndpoint:
    endpoint = session.execute(OutboundEndpoint.for_shop(shop_id).where(OutboundEndpoint.id == endpoint_id)
                               .with_for_update()).scalar_one_or_none()
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


def list_endpoints(session, shop_id: int) -> list[OutboundEndpoint]:
    return list(session.execute(OutboundEndpoint.for_shop(shop_id).order_by(OutboundEndpoint.id)).scalars())


def change(session, app_state, shop_id: int, endpoint_id: int, *, topics=None, enabled=None, url=None) -> OutboundEndpoint:
    """Change topics or URL, or switch on/off; switching on clears the failure streak."""
    endpoint = get(session, shop_id, endpoint_id)
    if topics is not None:
        endpoint.topics = _topics(topics)
    if url is not None:
        endpoint.url = check_url(app_state.config, url)
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise EndpointError("enabled", "enabled: true or false")
        if enabled and not endpoint.enabled:
            endpoint.failing_since = endpoint.disabled_at = endpoint.disabled_reason = None
        if not enabled and endpoint.enabled:
            endpoint.disabled_reason = "disabled by the merchant"
        endpoint.enabled = enabled
    forget_endpoints(session)
    return endpoint


def rotate_secret(session, app_state, shop_id: int, endpoint_id: int) -> str:
    endpoint = get(session, shop_id, endpoint_id)
    secret = new_secret()
    endpoint.secret_enc = app_state.cipher.encrypt(secret)
    return secret


def remove(session, shop_id: int, endpoint_id: int) -> None:
    session.delete(get(session, shop_id, endpoint_id))
    forget_endpoints(session)


def describe(endpoint: OutboundEndpoint, last: OutboundDelivery | None = None) -> dict:
    return {"id": endpoint.id, "url": endpoint.url, "topics": list(endpoint.topics), "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason,
            "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
            "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
            "last_success_at": endpoint.last_success_at.isoformat() if endpoint.last_success_at else None,
            "last_delivery": describe_delivery(last, None) if last else None,
            "created_at": endpoint.created_at.isoformat()}


def describe_delivery(delivery: OutboundDelivery, topic: str | None) -> dict:
    return {"id": delivery.id, "endpoint_id": delivery.endpoint_id, "event_id": f"evt_{delivery.event_id}",
            "topic": topic, "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error,
            "last_attempt_at": delivery.last_attempt_at.isoformat() if delivery.last_attempt_at else None,
            "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.status == "pending" else None,
            "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
            "created_at": delivery.created_at.isoformat()}


def last_deliveries(session, shop_id: int) -> dict[int, OutboundDelivery]:
    """The newest attempted delivery of each endpoint of the shop."""
    newest = (select(func.max(OutboundDelivery.id)).where(OutboundDelivery.shop_id == shop_id,
                                                          OutboundDelivery.attempts > 0)
              .group_by(OutboundDelivery.endpoint_id))
    rows = session.execute(select(OutboundDelivery).where(OutboundDelivery.id.in_(newest))).scalars()
    return {row.endpoint_id: row for row in rows}


def recent_deliveries(session, shop_id: int, endpoint_id: int | None = None, limit: int = 100) -> list[dict]:
    query = (select(OutboundDelivery, OutboundEvent.topic)
             .join(OutboundEvent, OutboundEvent.id == OutboundDelivery.event_id)
             .where(OutboundDelivery.shop_id == shop_id).order_by(OutboundDelivery.id.desc()).limit(limit))
    if endpoint_id is not None:
        query = query.where(OutboundDelivery.endpoint_id == endpoint_id)
    return [describe_delivery(d, topic) for d, topic in session.execute(query).all()]
