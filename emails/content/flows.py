"""The catalogue of email flows: what each one is, so the sender can decide
consent, frequency caps and reporting without knowing the flow's content."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Audience = Literal["shopper", "merchant"]


@dataclass(frozen=True)
class Flow:
    """One kind of email.

    ``marketing`` flows may only go to customers whose email marketing consent
    is ``SUBSCRIBED`` and must carry an unsubscribe link; transactional ones
    are about something the customer already has (points, an order, a tier).
    ``priority``: lower wins when a per-customer frequency cap forces a choice.
    ``loyalty``: the email shows the points balance, tier and progress.
    """

    name: str
    marketing: bool
    priority: int
    category: str
    loyalty: bool
    audience: Audience = "shopper"

    @property
    def categories(self) -> list[str]:
        """SendGrid categories for stats: the app, the kind of mail, the flow."""
        kind = "marketing" if self.marketing else "transactional"
        return ["embajador", kind, self.category]


def _flow(name: str, marketing: bool, priority: int, loyalty: bool,
          audience: Audience = "shopper") -> Flow:
    return Flow(name, marketing, priority, name.replace("_", "-"), loyalty, audience)


_CATALOGUE = (
    _flow("complaint_opened", False, 0, False, "merchant"),
    _flow("data_request_received", False, 0, False, "merchant"),
    _flow("webhook_endpoint_disabled", False, 0, False, "merchant"),
    _flow("welcome", False, 10, True),
    _flow("points_earned", False, 20, True),
    _flow("referral_reward", False, 20, True),
    _flow("tier_changed", False, 30, True),
    _flow("expiry_last_chance", False, 30, True),
    _flow("reward_available", False, 40, True),
    _flow("expiry_warning", False, 45, True),
    _flow("feedback_request", False, 50, True),
    _flow("abandoned_checkout_1", True, 55, False),
    _flow("abandoned_checkout_2", True, 60, False),
    _flow("abandoned_checkout_3", True, 65, False),
    _flow("birthday", True, 70, True),
    _flow("win_back", True, 80, True),
    _flow("referral_invite", True, 90, True),
)

FLOWS: Mapping[str, Flow] = MappingProxyType({f.name: f for f in _CATALOGUE})


class UnknownFlowError(KeyError):
    """A flow name that is not in the catalogue (typo or removed flow)."""


def get_flow(name: str) -> Flow:
    """The flow called ``name``; raises UnknownFlowError listing valid names."""
    try:
        return FLOWS[name]
    except KeyError:
        raise UnknownFlowError(
            f"unknown email flow {name!r}; known flows: {', '.join(sorted(FLOWS))}"
        ) from None


def may_send(flow: Flow, marketing_state: str | None) -> bool:
    """Whether consent allows this flow: marketing needs ``SUBSCRIBED``
    (Shopify's ``emailMarketingConsent.marketingState``)."""
    return not flow.marketing or (marketing_state or "").upper() == "SUBSCRIBED"


def pick_within_cap(flows: list[Flow], cap: int) -> list[Flow]:
    """The ``cap`` most important flows (stable by priority) when a customer
    has more emails due than the frequency cap allows; transactional mail to
    the merchant is never dropped."""
    merchant = [f for f in flows if f.audience == "merchant"]
    shopper = sorted((f for f in flows if f.audience == "shopper"), key=lambda f: f.priority)
    return merchant + shopper[:max(cap, 0)]
