"""The pure fraud rules: which facts make a referral suspicious, and how emails are compared."""
from __future__ import annotations

import pytest

from plugin.referrals.hashing import keyed_hash
from plugin.referrals.rules.fraud import VELOCITY_LIMIT, Party, ReferralFacts, canonical_email, fraud_reasons


@pytest.mark.parametrize("raw, expected", [
    ("Ana.Perez+promo@GMail.com", "anaperez@gmail.com"),
    ("ana.perez@googlemail.com", "anaperez@gmail.com"),
    ("ana.perez+x@outlook.com", "ana.perez@outlook.com"),        # dots matter outside Gmail
    ("ana.perez+x@empresa.cl", "ana.perez+x@empresa.cl"),        # unknown providers: untouched
    ("not-an-email", None),
])
def test_canonical_email(raw, expected):
    assert canonical_email(raw) == expected


def facts(**friend) -> ReferralFacts:
    advocate = Party(1, "ana@gmail.com", "n1", frozenset({("ip", "i1"), ("address", "a1")}))
    base = dict(customer_id=2, email="bea@gmail.com", name_hash="n2", fingerprints=frozenset())
    extra = {k: friend.pop(k) for k in ("click_fingerprints", "referrals_from_ip", "earlier_paid_orders") if k in friend}
    return ReferralFacts(advocate=advocate, friend=Party(**dict(base, **friend)), **extra)


@pytest.mark.parametrize("changes, code", [
    (dict(customer_id=1), "self_referral"),
    (dict(email="ana@gmail.com"), "self_referral"),
    (dict(name_hash="n1"), "same_name"),
    (dict(fingerprints=frozenset({("address", "a1")})), "same_address"),
    (dict(fingerprints=frozenset({("ip", "i1")})), "same_device"),
    (dict(click_fingerprints=frozenset({("ip", "i1")})), "same_device"),
    (dict(referrals_from_ip=VELOCITY_LIMIT - 1), "velocity"),
    (dict(earlier_paid_orders=1), "not_new_customer"),
])
def test_each_rule_fires_alone(changes, code):
    assert [r["code"] for r in fraud_reasons(facts(**changes))] == [code]


def test_a_clean_referral_has_no_reasons():
    assert fraud_reasons(facts(referrals_from_ip=VELOCITY_LIMIT - 2)) == []


def test_hashes_are_keyed_and_names_compare_loosely():
    assert keyed_hash("k", "name", "José  Pérez") == keyed_hash("k", "name", "jose perez")
    assert keyed_hash("k", "ip", "1.2.3.4") != keyed_hash("other", "ip", "1.2.3.4")
    assert keyed_hash("k", "ip", "") is None
