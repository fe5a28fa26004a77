"""Review apps' webhook bodies → the one fact the loyalty program needs.

Shapes, from the providers' public docs (fixtures in tests/fixtures/reviews/ cite them):

- Judge.me (https://judge.me/api/docs#tag/Webhooks, sample: PipedreamHQ/pipedream
  components/judge_me/sources/new-review/test-event.mjs): ``{"event": "review/created",
  "shop_domain": "x.myshopify.com", "platform": "shopify", "review": {"id": 465077653,
  "reviewer": {"email": …}, "pictures": [], "has_published_pictures": false, …}}``.
- Yotpo Reviews (https://apidocs.yotpo.com/reference/about-webhooks,
  https://develop.yotpo.com/reference/create-webhook): ``{"event": "review_create",
  "data": {"id": 219, "customer_email": …, "score": 5, …}}``; ids and flags arrive as
  numbers in the current docs and as strings in older examples, so both are read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ReviewPayloadError(ValueError):
    """A signed body we cannot read (400: the provider shows it to the merchant)."""


@dataclass(frozen=True)
class ReviewFact:
    provider: str
    review_id: str
    email: str | None
    with_photos: bool
    shop_domain: str | None = None


def _id(raw: Any) -> str:
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not text or len(text) > 40 or not text.replace("-", "").isalnum():
        raise ReviewPayloadError("review id missing or not an id")
    return text


def _email(raw: Any) -> str | None:
    return raw.strip() if isinstance(raw, str) and "@" in raw else None


def judgeme_fact(body: Any) -> ReviewFact | None:
    """A new Judge.me review; None for events that award nothing (updates, other topics)."""
    if not isinstance(body, dict) or not isinstance(body.get("review"), dict):
        raise ReviewPayloadError("not a Judge.me webhook body: no review object")
    if body.get("event") != "review/created":
        return None
    review = body["review"]
    reviewer = review.get("reviewer") if isinstance(review.get("reviewer"), dict) else {}
    pictures = review.get("pictures")
    photos = (isinstance(pictures, list) and len(pictures) > 0) or review.get("has_published_pictures") is True
    domain = body.get("shop_domain") if isinstance(body.get("shop_domain"), str) else None
    return ReviewFact("judgeme", _id(review.get("id")), _email(reviewer.get("email")), photos, domain)


def yotpo_fact(body: Any) -> ReviewFact | None:
    """A new Yotpo review; None for ``review_updated`` and anything else."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ReviewPayloadError("not a Yotpo webhook body: no data object")
    if body.get("event") != "review_create":
        return None
    data = body["data"]
    if str(data.get("deleted", "false")).lower() == "true":
        return None
    # Yotpo's documented review payload says nothing about images, so a Yotpo review is a ``review``.
    return ReviewFact("yotpo", _id(data.get("id")), _email(data.get("customer_email")), False)
