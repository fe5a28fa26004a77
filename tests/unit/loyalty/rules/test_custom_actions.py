"""Custom actions in the program document (actions.custom) and the pure limit/cooldown rule."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.loyalty.rules.custom_actions import may_award
from plugin.loyalty.rules.program import CustomAction, ProgramError, dump_program, load_program

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
BASE = {"currency": "CLP", "earn": {"points": 1, "per_amount": "1000"}}


def program(actions: dict):
    return load_program({**BASE, "actions": actions})


def test_todays_integer_actions_stay_valid_and_dump_unchanged():
    loaded = program({"signup": 100, "birthday": 200})
    assert loaded.actions.custom == ()
    assert "custom" not in dump_program(loaded)["actions"]


def test_custom_actions_load_and_round_trip():
    doc = {"signup": 100, "custom": [{"id": "review", "points": 50, "limit": 5, "cooldown": "P1D"},
                                     {"id": "instagram_follow", "points": 20, "limit": 1, "name": "Síguenos"}]}
    loaded = program(doc)
    assert loaded.actions.custom_action("review") == CustomAction("review", 50, 5, "P1D")
    assert loaded.actions.custom_action("review").cooldown_delta == timedelta(days=1)
    assert load_program(dump_program(loaded)) == loaded


@pytest.mark.parametrize(("custom", "path", "words"), [
    ([{"id": "review"}], "actions.custom[0].points", "is required"),
    ([{"id": "review", "points": 0}], "actions.custom[0].points", "minimum"),
    ([{"id": "a b", "points": 5}], "actions.custom[0].id", "letters, digits"),
    ([{"id": "signup", "points": 5}], "actions.custom[0].id", "built-in"),
    ([{"id": "r", "points": 5}, {"id": "r", "points": 6}], "actions.custom[1].id", "duplicate"),
    ([{"id": "r", "points": 5, "cooldown": "P1M"}], "actions.custom[0].cooldown", "ISO-8601"),
    ([{"id": "r", "points": 5, "limit": 0}], "actions.custom[0].limit", "minimum"),
    ([{"id": "r", "points": 5, "every": "day"}], "actions.custom[0].every", "unknown field"),
])
def test_bad_custom_actions_name_the_field(custom, path, words):
    with pytest.raises(ProgramError) as error:
        program({"custom": custom})
    assert error.value.path == path and words in str(error.value)


def test_limit_counts_every_previous_award():
    action = CustomAction("follow", 20, limit=1)
    assert may_award(action, [], NOW).allowed
    assert may_award(action, [NOW - timedelta(days=400)], NOW).reason == "limit"


def test_cooldown_runs_from_the_latest_award():
    action = CustomAction("review", 50, cooldown="PT12H")
    refused = may_award(action, [NOW - timedelta(days=3), NOW - timedelta(hours=2)], NOW)
    assert (refused.allowed, refused.reason, refused.retry_at) == (False, "cooldown", NOW + timedelta(hours=10))
    assert may_award(action, [NOW - timedelta(hours=12)], NOW).allowed


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=20), st.integers(1, 10), st.integers(0, 48))
def test_an_allowed_award_never_breaks_limit_or_cooldown(minutes_ago, limit, cooldown_hours):
    previous = [NOW - timedelta(minutes=m) for m in minutes_ago]
    action = CustomAction("a", 1, limit=limit, cooldown=f"PT{cooldown_hours}H" if cooldown_hours else None)
    decision = may_award(action, previous, NOW)
    if decision.allowed:
        assert len(previous) < limit
        assert all(NOW - p >= timedelta(hours=cooldown_hours) for p in previous)
    else:
        assert len(previous) >= limit or any(NOW - p < timedelta(hours=cooldown_hours) for p in previous)
