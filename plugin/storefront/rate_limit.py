"""Per-customer rate limit on ``POST /proxy/redeem`` (``PROXY_REDEEM_RATE_LIMIT``, default 5/minute).

The ``limits`` library keeps a moving window in Redis when ``REDIS_URL`` is set, so every web
process shares one count; without Redis (the demo) each process counts on its own.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import limits
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from plugin.config import Config

EXTENSION_KEY = "embajador.redeem_limiter"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until one more attempt is allowed (0 when allowed)


class RedeemLimiter:
    """Counts redemption attempts per shop and customer."""

    def __init__(self, rate: str, storage: Storage):
        self.item = limits.parse(rate)
        self.limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def from_config(cls, config: Config) -> RedeemLimiter:
        if not config.redis_url:
            return cls(config.redeem_rate_limit, MemoryStorage())
        uri = config.redis_url
        if uri.startswith("rediss://"):  # Heroku Redis: self-signed certificate (TECHNOTES)
            uri += ("&" if "?" in uri else "?") + "ssl_cert_reqs=none"
        return cls(config.redeem_rate_limit, RedisStorage(uri))

    def attempt(self, shop_id: int, customer_shopify_id: str) -> Decision:
        """Record one attempt; refuse it when the window is full."""
        identifiers = ("redeem", str(shop_id), customer_shopify_id)
        if self.limiter.hit(self.item, *identifiers):
            return Decision(True, 0)
        reset_at = self.limiter.get_window_stats(self.item, *identifiers).reset_time
        return Decision(False, max(1, math.ceil(reset_at - time.time())))
