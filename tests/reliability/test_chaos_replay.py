"""Nothing lost, nothing doubled: a store history through the real processes under faults.

Duplicates (same event id, some at the same moment), refunds before their paid order,
orders re-sent with new event ids, friends landing on advocates' referral links, a SIGKILLed
worker, Redis killed and restarted empty, and the app's Postgres backends terminated — then
every balance, tier and referral must be what the pure rules compute from the de-duplicated,
correctly ordered history, and every due email must have been sent exactly once.
"""
from __future__ import annotations

from tests.conftest import _truncate_all
from tests.reliability.cluster import Cluster
from tests.reliability.history import chaos_program, expected_state, generate, schedule
from tests.reliability.replay import audit, install, run_replay
from tests.reliability.scale import current

DOMAIN = "caos-uno.myshopify.com"


def test_chaos_replay_loses_nothing_doubles_nothing_and_sends_each_email_once(migrated, pg_url, tmp_path):
    scale = current()
    program = chaos_program()
    history = generate(scale.customers, scale.orders_per_customer, referrals=True)
    plan = schedule(history)
    cluster = Cluster(pg_url, tmp_path)
    try:
        _truncate_all(cluster.app_state.db)
        install(cluster, DOMAIN, program)
        figures = run_replay(cluster, DOMAIN, plan, history, senders=scale.senders,
                             drain_timeout=scale.drain_timeout)
        audit(cluster, DOMAIN, history, expected_state(history, program), figures)
    finally:
        cluster.close()
    report = "\n".join(figures.lines() + figures.wrong_examples + figures.referrals_wrong + figures.sender_errors)
    print(report)
    assert figures.drain_error is None, report
    assert len(figures.faults) == 3, report
    assert figures.server_errors == 0, report
    assert figures.statuses.get(200) == figures.deliveries_sent, report
    # Referral landings: every one answered with the redirect and recorded as a click of its
    # advocate; friend codes as the landing caps allow; each friend's order the referral of the
    # right advocate, successful or held exactly as the fraud rules decide.
    assert figures.sender_errors == [], report
    assert figures.landings_sent > 0 and figures.landing_statuses.get(302) == figures.landings_sent, report
    assert figures.clicks_wrong == 0, report
    assert figures.friend_codes == figures.friend_codes_expected, report
    assert figures.referrals_wrong == [] and sum(figures.referrals.values()) == len(history.referrals), report
    assert figures.customers == len(history.people), report
    assert (figures.points_lost, figures.points_doubled, figures.customers_wrong) == (0, 0, 0), report
    assert figures.tier_outside_bounds == 0, report
    # Each email at most once, and every due email exactly once: none still due, every row the
    # outbox marks sent received by SendGrid exactly once, nothing received for no sent row.
    assert figures.emails_twice == 0, report
    assert figures.emails_unsent == 0, report
    assert figures.emails_sent > 0 and figures.emails_once == figures.emails_sent, report
    assert (figures.emails_not_in_sink, figures.emails_not_in_outbox) == (0, 0), report
    assert figures.dead_without_reason == 0 and figures.inbox.get("pending", 0) == 0, report
    assert figures.verify_exit == 0, report
    assert figures.worker_crashes == [], report
