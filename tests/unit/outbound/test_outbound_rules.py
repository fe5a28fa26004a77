"""The pure rules of outbound webhooks: signatures, destinations, backoff."""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.outbound.rules.destinations import RefusedDestination, check_address, parse_destination
from plugin.outbound.rules.events import BadTopics, check_topics
from plugin.outbound.rules.schedule import gives_up, next_attempt_at, retry_delay, should_disable
from plugin.outbound.rules.signing import new_secret, signature_header, verify

NOW = 1_795_000_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"whsec_abc", b"1795000000." + body, hashlib.sha256).hexdigest()
    assert signature_header("whsec_abc", NOW, body) == f"t=1795000000,v1={expected}"


@given(st.binary(max_size=300))
def test_a_signature_verifies_only_the_exact_body(body):
    secret = new_secret(b"\x01" * 32)
    header = signature_header(secret, NOW, body)
    assert verify(header, secret, body, NOW)
    assert not verify(header, secret, body + b"x", NOW)
    assert not verify(header, new_secret(b"\x02" * 32), body, NOW)


def test_stale_or_malformed_headers_are_refused():
    header = signature_header("s", NOW, b"{}")
    assert verify(header, "s", b"{}", NOW + 300)
    assert not verify(header, "s", b"{}", NOW + 301)
    for bad in ("", "v1=abc", f"t=x,{header.split(',')[1]}", f"t={NOW},t={NOW},{header.split(',')[1]}"):
        assert not verify(bad, "s", b"{}", NOW)


@pytest.mark.parametrize("url", ["https://hooks.example.com/x", "https://[2606:4700::1111]/x", "https://1.1.1.1:8443/"])
def test_public_https_destinations_parse(url):
    assert parse_destination(url, allow_loopback=False).scheme == "https"


@pytest.mark.parametrize("address", ["10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "127.0.0.1",
                                     "::1", "fe80::1", "fc00::1", "::ffff:192.168.0.1", "2002:0a00:0001::1",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(RefusedDestination):
        check_address(address, allow_loopback=False)


def test_loopback_only_when_allowed_and_never_other_private_ranges():
    check_address("127.0.0.1", allow_loopback=True)
    check_address("::1", allow_loopback=True)
    with pytest.raises(RefusedDestination):
        check_address("10.0.0.1", allow_loopback=True)
    assert parse_destination("http://127.0.0.1:8765/h?a=1", allow_loopback=True).target == "/h?a=1"
    with pytest.raises(RefusedDestination, match="https"):
        parse_destination("http://127.0.0.1:8765/h", allow_loopback=False)


def test_host_header_keeps_non_default_ports():
    assert parse_destination("https://h.example.com/", False).host_header == "h.example.com"
    assert parse_destination("https://h.example.com:8443/", False).host_header == "h.example.com:8443"


def test_backoff_doubles_from_a_minute_up_to_six_hours():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(30) == timedelta(hours=6)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    assert next_attempt_at(2, start) == start + timedelta(minutes=2)


def test_give_up_and_disable_after_three_days():
    start = datetime(2026, 11, 30, tzinfo=UTC)
    assert not gives_up(start, start + timedelta(days=3) - timedelta(seconds=1))
    assert gives_up(start, start + timedelta(days=3))
    assert not should_disable(None, start)
    assert should_disable(start, start + timedelta(days=3))


def test_topics_are_checked_and_ordered():
    assert check_topics(["tier.changed", "points.changed", "tier.changed"]) == ["points.changed", "tier.changed"]
    for bad in ([], "points.changed", ["points.exploded"], [1]):
        with pytest.raises(BadTopics):
            check_topics(bad)
