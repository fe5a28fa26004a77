"""Fraud rules for a referral, pure: facts in, reasons out (empty = looks legitimate).

Every reason has a stable ``code`` and a sentence the merchant reads in the review queue;
a suspicious referral is HELD with its reasons, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VELOCITY_LIMIT = 10        # referral orders from one hashed IP ...
VELOCITY_WINDOW_DAYS = 7   # ... within this many days
GMAIL_LIKE = frozenset({"gmail.com", "googlemail.com"})
PLUS_TAG_DOMAINS = GMAIL_LIKE | {"outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
                                 "protonmail.com", "proton.me", "fastmail.com", "yahoo.com"}

REASON_TEXT = {
    "self_referral": "The friend is the advocate (same customer or same email).",
    "same_name": "The friend has the same name as the advocate.",
    "same_address": "The friend's shipping address is one the advocate has used.",
    "same_device": "The friend's order or landing came from the advocate's IP address / browser.",
    "velocity": f"{VELOCITY_LIMIT} or more referral orders from one IP address within {VELOCITY_WINDOW_DAYS} days.",
    "not_new_customer": "The friend had paid orders before this one.",
}


def canonical_email(email: str | None) -> str | None:
    """``Ana.Perez+promo@GMail.com`` → ``anaperez@gmail.com``: one mailbox, one friend."""
    if not isinstance(email, str) or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in GMAIL_LIKE:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local and domain else None


@dataclass(frozen=True)
class Party:
    """One side of a referral as the rules see it (hashes only, besides the ids)."""

    customer_id: int | None
    email: str | None                      # canonical_email()
    name_hash: str | None = None
    fingerprints: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (kind, hash)


@dataclass(frozen=True)
class ReferralFacts:
    advocate: Party
    friend: Party
    click_fingerprints: frozenset[tuple[str, str]] = frozenset()  # the landing that issued the code
    referrals_from_ip: int = 0           # earlier referrals from the friend's IP in the window
    earlier_paid_orders: int = 0         # the friend's paid orders before this one


def fraud_reasons(facts: ReferralFacts) -> list[dict[str, Any]]:
    """The rules that fire, in a fixed order, as ``{"code", "text"}`` dicts."""
    advocate, friend = facts.advocate, facts.friend
    codes = []
    if (friend.customer_id is not None and friend.customer_id == advocate.customer_id) or (
            friend.email is not None and friend.email == advocate.email):
        codes.append("self_referral")
    if friend.name_hash is not None and friend.name_hash == advocate.name_hash:
        codes.append("same_name")
    if _shared(advocate.fingerprints, friend.fingerprints, {"address"}):
        codes.append("same_address")
    if _shared(advocate.fingerprints, friend.fingerprints | facts.click_fingerprints, {"ip", "device"}):
        codes.append("same_device")
    if facts.referrals_from_ip + 1 >= VELOCITY_LIMIT:
        codes.append("velocity")
    if facts.earlier_paid_orders > 0:
        codes.append("not_new_customer")
    return [{"code": code, "text": REASON_TEXT[code]} for code in codes]


def _shared(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]], kinds: set[str]) -> bool:
    return any(kind in kinds and (kind, value) in b for kind, value in a)
