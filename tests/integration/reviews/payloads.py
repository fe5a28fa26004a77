"""Review apps' webhook bodies, as their public docs show them (only the email, ids and shop
domain are changed to this test's customer and shop).

Judge.me — ``review/created``:
  shape: https://judge.me/api/docs#tag/Webhooks (webhook keys review/created, review/updated),
  sample body: PipedreamHQ/pipedream components/judge_me/sources/new-review/test-event.mjs
  (https://github.com/PipedreamHQ/pipedream/blob/master/components/judge_me/sources/new-review/test-event.mjs);
  signature: header JUDGEME-HMAC-SHA256, HMAC-SHA256 of the raw body keyed with the shop's
  private API token or the OAuth app's secret:
  https://judge.me/help/en/articles/8299679-verifying-webhooks-from-judge-me
  (hex digest, as Judge.me integrations in the wild compare it).

Yotpo Reviews — ``review_create`` / ``review_updated``:
  shape: https://apidocs.yotpo.com/reference/about-webhooks and
  https://develop.yotpo.com/reference/create-webhook (the current example with numeric ids).
  Yotpo's public docs describe NO signature for these webhooks, so the app authenticates them
  with a secret token in the webhook URL it generates (README "Review apps").
"""
from __future__ import annotations

import copy

JUDGEME_REVIEW_CREATED = {
    "review": {
        "id": 465077653,
        "title": "Nice Product",
        "body": "Very good product!",
        "rating": 5,
        "product_external_id": 8302173290794,
        "reviewer": {
            "id": 2136342,
            "external_id": 7001,
            "email": "ana@example.com",
            "name": "Ana",
            "phone": "0000000000000",
            "accepts_marketing": True,
            "unsubscribed_at": None,
            "tags": None,
        },
        "source": "web",
        "curated": "ok",
        "published": True,
        "hidden": False,
        "verified": "not-yet",
        "featured": False,
        "created_at": "2023-10-05T13:35:01+00:00",
        "updated_at": "2023-10-05T13:35:01+00:00",
        "has_published_pictures": False,
        "has_published_videos": False,
        "pictures": [],
        "ip_address": None,
        "product_title": "The Collection Snowboard: Oxygen",
        "product_handle": "the-collection-snowboard-oxygen",
    },
    "event": "review/created",
    "shop_domain": "embajador-test.myshopify.com",
    "platform": "shopify",
}

YOTPO_REVIEW_CREATE = {
    "event": "review_create",
    "data": {
        "id": 219,
        "source_app_key": "",
        "title": "Review Title",
        "reviewer_display_name": "Reviewer Display Name",
        "content": "Review Content",
        "user_id": 209,
        "score": 5,
        "deleted": False,
        "app_key": "StmYvzud6bHLtosn5k5DoGoA7M0kghzjMdH25DST",
        "created_at": "2024-02-20T21:31:13.000Z",
        "updated_at": "2024-02-20T21:31:13.000Z",
        "new": True,
        "user_type": "AnonymousUser",
        "verified_buyer": False,
        "archived": False,
        "shop_owner": False,
        "twitter_pushed": 0,
        "facebook_pushed": 0,
        "review_source_type_id": 1,
        "votes_up": 0,
        "votes_down": 0,
        "review_type_id": 1,
        "source_review_id": None,
        "sentiment": "",
        "escalated": False,
        "customer_email": "ana@example.com",
        "order_id": 123,
        "external_order_id": "123",
    },
}


def judgeme(**review_changes) -> dict:
    body = copy.deepcopy(JUDGEME_REVIEW_CREATED)
    body["review"].update(review_changes)
    return body


def yotpo(event="review_create", **data_changes) -> dict:
    body = copy.deepcopy(YOTPO_REVIEW_CREATE)
    body["event"] = event
    body["data"].update(data_changes)
    return body
