"""Chaos replay: a store history through POST /webhooks under faults, then the audit.

``run_replay`` sends the schedule from several concurrent senders while a fault thread
SIGKILLs a worker, takes Redis away (restarting it empty) and terminates the app's
Postgres connections; a clock thread runs ``tick`` like the Procfile's ``clock``. Then it
drains (tick runs ahead of the clock so retries come due) and ``audit`` compares every
customer with what the pure rules compute from the history.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from plugin.loyalty.rules.program import Program, dump_program, load_program
from plugin.models import Customer, LedgerEntry, OutboxMessage, Referral, ReferralClick, Shop, WebhookDelivery, utcnow
from plugin.models.email import QUEUED, SENDING, SENT, UNKNOWN
from plugin.models.inbox import DEAD, FAILED, IGNORED, PENDING, PROCESSED, UNHANDLED
from plugin.referrals.landing import CODES_PER_IP_PER_DAY
from plugin.shopify.oauth import TokenSet
from plugin.shopify.signatures import sign_app_proxy
from plugin.shops.tokens import install_shop
from tests.conftest import API_SECRET
from tests.e2e.processes import ROOT, process_env
from tests.reliability.cluster import Cluster, emails_sent, terminate_app_connections
from tests.reliability.history import LANDING, Expected, History, Schedule, units
from tests.shopify_requests import webhook_headers

TERMINAL = (PROCESSED, UNHANDLED, IGNORED, FAILED, DEAD)
RETRY_AHEAD = 5 * 3600  # past the longest retry backoff (4 h), so every retry is due


@dataclass
class Figures:
    """What a run did and found; printed by the bench and written to docs/RELIABILITY.md."""

    deliveries_sent: int = 0
    events: int = 0
    duplicates: int = 0
    reordered: int = 0
    statuses: Counter = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    seconds: float = 0.0
    drain_seconds: float = 0.0
    customers: int = 0
    points_lost: int = 0
    points_doubled: int = 0
    customers_wrong: int = 0
    tier_outside_bounds: int = 0
    emails_sent: int = 0
    emails_twice: int = 0
    inbox: Counter = field(default_factory=Counter)
    dead_without_reason: int = 0
    verify_exit: int | None = None
    worker_crashes: list[int] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)
    drain_error: str | None = None
    emails_unsent: int = 0
    landings_sent: int = 0
    sender_errors: list[str] = field(default_factory=list)
    landing_statuses: Counter = field(default_factory=Counter)
    clicks_expected: Counter = field(default_factory=Counter)    # advocate shopify id -> landings sent
    clicks_wrong: int = 0                                          # advocates with another number of clicks
    friend_codes: int = 0
    friend_codes_expected: int = 0
    referrals: Counter = field(default_factory=Counter)            # status -> count
    referrals_wrong: list[str] = field(default_factory=list)
    emails_once: int = 0              # outbox rows marked sent that the sink received exactly once
    emails_not_in_sink: int = 0       # rows marked sent that SendGrid never received
    emails_not_in_outbox: int = 0     # what SendGrid received for no row marked sent (or unknown)
    outbox: str = ""
    dead_reasons: Counter = field(default_factory=Counter)  # (status, topic, first line of last_error) -> rows

    @property
    def server_errors(self) -> int:
        return sum(n for statuses in (self.statuses, self.landing_statuses)
                   for status, n in statuses.items() if status >= 500)

    def lines(self) -> list[str]:
        return [
            f"deliveries sent: {self.deliveries_sent} ({self.events} events, {self.duplicates} duplicates,"
            f" {self.reordered} out of order)",
            f"responses: {dict(sorted(self.statuses.items()))}; 5xx seen: {self.server_errors}",
            f"referral landings: {self.landings_sent} ({dict(sorted(self.landing_statuses.items()))}); advocates with"
            f" clicks other than landings: {self.clicks_wrong}; friend codes issued: {self.friend_codes}"
            f" (rules: {self.friend_codes_expected}); referrals: {dict(sorted(self.referrals.items()))},"
            f" other than the rules: {len(self.referrals_wrong)}",
            f"faults injected: {'; '.join(self.faults) or 'none'}",
            f"replay {self.seconds:.1f} s, drain {self.drain_seconds:.1f} s {self.drain_error or ''}".rstrip(),
            f"customers: {self.customers}; wrong balance: {self.customers_wrong}; points lost: {self.points_lost};"
            f" points doubled: {self.points_doubled}; tier out of bounds: {self.tier_outside_bounds}",
            f"emails sent: {self.emails_sent}; sent exactly once: {self.emails_once}; sent twice:"
            f" {self.emails_twice}; due but still queued: {self.emails_unsent}; marked sent but not received:"
            f" {self.emails_not_in_sink}; received for no sent row: {self.emails_not_in_outbox}"
            f" (outbox: {self.outbox})",
            f"inbox: {dict(sorted(self.inbox.items()))}; dead/failed without a reason: {self.dead_without_reason}",
            *(f"  {status} {topic}: {n} × {reason}" for (status, topic, reason), n in sorted(self.dead_reasons.items())),
            f"points verify exit code: {self.verify_exit}; workers that died on their own: {self.worker_crashes}",
        ]


def install(cluster: Cluster, domain: str, program: Program) -> int:
    token = cluster.shopify.issue_token(domain)
    with cluster.app_state.db.transaction() as session:
        shop = install_shop(session, cluster.app_state.cipher, domain,
                            TokenSet(access_token=token, scope="read_customers,read_orders", expires_at=None),
                            time_now())
        shop.currency, shop.primary_locale, shop.name = program.currency, "es", "Tienda Caos"
        shop.program = dump_program(program)
        return shop.id


def time_now():
    return utcnow()


class _Senders:
    def __init__(self, cluster: Cluster, domain: str, patience: float = 240.0) -> None:
        self.cluster, self.domain, self.patience = cluster, domain, patience
        self.local = threading.local()
        self.statuses: Counter = Counter()
        self.landing_statuses: Counter = Counter()
        self.lock = threading.Lock()
        self.sent = 0
        self.codes: dict[int, str] = {}
        self.errors: list[str] = []
        self.deferred: list = []

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send_one(self, delivery, wait: bool = False) -> None:
        event = delivery.event
        if event.advocate is not None and event.advocate not in self.codes and not wait and \
                not _customer_exists(self.cluster, self.domain, event.advocate):
            # The advocate's customers/create is still queued: the friend comes a little later
            # (after the rest of the history) instead of holding this sender.
            with self.lock:
                self.deferred.append(delivery)
            return
        try:
            code = self.referral_code(event.advocate) if event.advocate is not None else None
        except AssertionError as exc:
            with self.lock:
                self.errors.append(str(exc))
                self.sent += 1
            return
        if event.topic == LANDING:
            self.land(code, event.payload["user_agent"])
            return
        body = event.body(code)
        headers = webhook_headers(body, event.topic, shop=self.domain, event_id=delivery.event_id)
        try:
            status = self.cluster.post(self._session(), body, headers)
        except requests.RequestException:
            status = 599  # the connection itself failed: counted as a server error
        with self.lock:
            self.statuses[status] += 1
            self.sent += 1

    def land(self, code: str | None, user_agent: str) -> None:
        """The friend opens the advocate's link (a browser: the redirect is not followed here)."""
        try:
            status = self._session().get(f"{self.cluster.web_base}/r/{code}", headers={"User-Agent": user_agent},
                                         allow_redirects=False, timeout=10).status_code
        except requests.RequestException:
            status = 599
        with self.lock:
            self.landing_statuses[status] += 1
            self.sent += 1

    def referral_code(self, advocate: int) -> str:
        """The advocate's code as their widget shows it (GET /proxy/customer, signed as Shopify's
        App Proxy signs it), once their customers/create has been processed (a bounded wait)."""
        if advocate in self.codes:
            return self.codes[advocate]
        # 240 s without the workers settling a single delivery, or the whole drain bound: after
        # Redis comes back empty the sweeper re-enqueues what it lost behind everything stored
        # since, so an early advocate can wait that long (17 min in the full run of 2026-11-30,
        # whose fixed 240 s left 2 deliveries and 3 landings unsent, their points "lost").
        hard, last, settled = time.monotonic() + self.patience, "advocate not stored yet", -1
        deadline = time.monotonic() + 240
        while time.monotonic() < min(deadline, hard):
            done = _settled(self.cluster)
            if done > settled:
                settled, deadline = done, time.monotonic() + 240
            if _customer_exists(self.cluster, self.domain, advocate):
                pairs = [("shop", self.domain), ("path_prefix", "/apps/embajador"),
                         ("timestamp", str(int(time.time()))), ("logged_in_customer_id", str(advocate))]
                query = urlencode(pairs + [("signature", sign_app_proxy(pairs, API_SECRET))])
                try:
                    answer = self._session().get(f"{self.cluster.web_base}/proxy/customer?{query}", timeout=10)
                    last = f"widget answered {answer.status_code}"
                    if answer.status_code == 200 and (answer.json().get("referral") or {}).get("code"):
                        self.codes[advocate] = answer.json()["referral"]["code"]
                        return self.codes[advocate]
                except (requests.RequestException, ValueError) as exc:
                    last = f"widget: {type(exc).__name__}"
            time.sleep(0.5)
        raise AssertionError(f"no referral code for advocate {advocate}: {last} ({settled} deliveries settled)")

    def send_deferred(self) -> None:
        for delivery in list(self.deferred):
            self.send_one(delivery, wait=True)

    def send_unit(self, unit) -> None:
        if len(unit) == 1:
            self.send_one(unit[0])
            return
        threads = [threading.Thread(target=self.send_one, args=(d,)) for d in unit]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)


def run_replay(cluster: Cluster, domain: str, plan: Schedule, history: History, senders: int = 4,
               faults: bool = True, drain_timeout: float = 300.0) -> Figures:
    landings = [d for d in plan.deliveries if d.event.topic == LANDING]
    figures = Figures(deliveries_sent=len(plan.deliveries) - len(landings),
                      events=sum(1 for e in history.events if e.topic != LANDING),
                      duplicates=sum(1 for d in plan.deliveries if d.kind == "duplicate" and d.event.topic != LANDING),
                      reordered=plan.reordered, landings_sent=len(landings),
                      clicks_expected=Counter(d.event.payload["advocate"] for d in landings))
    sending = _Senders(cluster, domain, patience=drain_timeout)
    total = len(plan.deliveries)
    stop = threading.Event()
    fault_thread = threading.Thread(target=_inject_faults, args=(cluster, sending, total, figures, stop), daemon=True)
    # Ticks run RETRY_AHEAD past the clock, beyond the longest retry backoff: the sweeper then
    # re-enqueues anything pending at once (racing duplicate jobs whenever the first copy has
    # already been taken by a worker), and every retry is due.
    clock_thread = threading.Thread(target=_clock, args=(cluster, stop), daemon=True)
    started = time.monotonic()
    if faults:
        fault_thread.start()
    clock_thread.start()
    try:
        with ThreadPoolExecutor(max_workers=senders) as pool:
            list(pool.map(sending.send_unit, units(plan.deliveries)))
        sending.send_deferred()
        if faults:
            fault_thread.join(timeout=120)
    finally:
        stop.set()
        clock_thread.join(timeout=60)
    figures.seconds = time.monotonic() - started
    figures.statuses = sending.statuses
    figures.landing_statuses = sending.landing_statuses
    figures.sender_errors = sending.errors
    drain_started = time.monotonic()
    try:
        drain(cluster, timeout=drain_timeout)
    except AssertionError as exc:
        figures.drain_error = str(exc)
    figures.drain_seconds = time.monotonic() - drain_started
    figures.worker_crashes = cluster.workers.died_on_their_own()
    return figures


def _inject_faults(cluster: Cluster, sending: _Senders, total: int, figures: Figures, stop: threading.Event) -> None:
    plan = [(0.25, "sigkill"), (0.5, "redis"), (0.75, "postgres")]
    for fraction, fault in plan:
        if not _wait_progress(sending, total, fraction, stop):
            return
        if fault == "sigkill":
            cluster.workers.sigkill_one()
            figures.faults.append(f"worker SIGKILLed at {sending.sent}/{total}, another started")
        elif fault == "redis":
            took = cluster.redis.outage(3.0)
            figures.faults.append(f"Redis killed at {sending.sent}/{total}, restarted empty after {took:.1f} s")
        else:
            killed = terminate_app_connections(cluster.admin_url)
            # The suite's own in-process pool was hit too: drop its dead connections so the
            # audit's reads don't fail on them (the app's processes recover on their own).
            cluster.app_state.db.engine.dispose()
            figures.faults.append(f"{killed} app Postgres backends terminated at {sending.sent}/{total}")


def _wait_progress(sending: _Senders, total: int, fraction: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if sending.sent >= total * fraction:
            return True
        if stop.is_set():
            return False
        time.sleep(0.05)
    return False


def ahead() -> datetime:
    return time_now() + timedelta(seconds=RETRY_AHEAD)


def _clock(cluster: Cluster, stop: threading.Event) -> None:
    """The Procfile ``clock``: tick every five seconds (every minute in production)."""
    while not stop.wait(5.0):
        try:
            cluster.tick(ahead())
        except Exception:  # noqa: BLE001 - a tick hit by an injected fault; the next one runs
            continue


def _customer_exists(cluster: Cluster, domain: str, shopify_id: int) -> bool:
    try:
        with cluster.app_state.db.transaction() as session:
            return session.execute(select(Customer.id).join(Shop, Shop.id == Customer.shop_id).where(
                Shop.domain == domain, Customer.shopify_id == str(shopify_id))).first() is not None
    except OperationalError:  # our own connection hit by the injected Postgres fault: ask again
        return False


def _settled(cluster: Cluster) -> int:
    """Inbox rows no longer pending: how far the workers have got."""
    try:
        with cluster.app_state.db.transaction() as session:
            return session.execute(select(func.count()).select_from(WebhookDelivery)
                                   .where(WebhookDelivery.status != PENDING)).scalar_one()
    except OperationalError:  # our own connection hit by the injected Postgres fault
        return -1


def inbox_counts(cluster: Cluster) -> Counter:
    with cluster.app_state.db.transaction() as session:
        rows = session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    return Counter({status: n for status, n in rows})


def _outbox_sending(cluster: Cluster) -> int:
    with cluster.app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.status == SENDING)).scalar_one()


def _outbox_unsent(cluster: Cluster, horizon: datetime) -> int:
    """Emails due by ``horizon`` (as the outbox decides "due") not sent yet."""
    due = (OutboxMessage.status == QUEUED) & (
        func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.send_after) <= horizon)
    with cluster.app_state.db.transaction() as session:
        return session.execute(select(func.count()).select_from(OutboxMessage).where(
            (OutboxMessage.status == SENDING) | due)).scalar_one()


def outbox_summary(cluster: Cluster) -> str:
    with cluster.app_state.db.transaction() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.flow, OutboxMessage.reason,
                                      OutboxMessage.attempts, func.count())
                               .group_by(OutboxMessage.status, OutboxMessage.flow, OutboxMessage.reason,
                                         OutboxMessage.attempts)).all()
    return "; ".join(f"{r[0]}/{r[1]}/{r[2]}/attempts={r[3]}: {r[4]}" for r in rows)


def drain(cluster: Cluster, timeout: float) -> None:
    """Tick until every delivery is settled and every due email has left the outbox (none
    queued and due, none mid-send), twice in a row (the last deliveries' events become emails
    on the next tick). What is still due at the deadline is counted by ``audit``."""
    deadline, calm, left = time.monotonic() + timeout, 0, "nothing checked yet"
    while time.monotonic() < deadline:
        try:
            cluster.tick(ahead())
            pending, unsent = inbox_counts(cluster).get(PENDING, 0), _outbox_unsent(cluster, ahead())
            left = f"{pending} deliveries pending, {unsent} emails due or being sent"
            calm = calm + 1 if pending == 0 and unsent == 0 else 0
        except Exception as exc:  # noqa: BLE001 - keep polling; the deadline bounds it
            left, calm = f"tick failed: {type(exc).__name__}: {exc}"[:300], 0
        if calm >= 2:
            return
        time.sleep(1.0)
    raise AssertionError(f"drain: not settled after {timeout:.0f} s ({left}; outbox: {outbox_summary(cluster)})")


def audit(cluster: Cluster, domain: str, history: History, expected: Expected, figures: Figures) -> Figures:
    with cluster.app_state.db.transaction() as session:
        shop_id = session.execute(select(Shop.id).where(Shop.domain == domain)).scalar_one()
        rows = session.execute(select(Customer.shopify_id, Customer.points_available, Customer.points_pending,
                                      Customer.tier_name).where(Customer.shop_id == shop_id)).all()
        dead = session.execute(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.shop_id == shop_id, WebhookDelivery.status.in_((DEAD, FAILED)),
            WebhookDelivery.last_error.is_(None))).scalar_one()
        figures.dead_reasons = Counter({
            (status, topic, (error or "").split("\n", 1)[0][:120]): n for status, topic, error, n in session.execute(
                select(WebhookDelivery.status, WebhookDelivery.topic, WebhookDelivery.last_error, func.count())
                .where(WebhookDelivery.shop_id == shop_id, WebhookDelivery.status.in_((DEAD, FAILED)))
                .group_by(WebhookDelivery.status, WebhookDelivery.topic, WebhookDelivery.last_error))})
    found: dict[int, Any] = {int(r.shopify_id): r for r in rows if r.shopify_id}
    figures.customers = len(found)
    order = [t.name for t in _tiers(cluster, domain)]
    for shopify_id, points in expected.points.items():
        row = found.get(shopify_id)
        have = (row.points_available + row.points_pending) if row else 0
        if have != points:
            figures.customers_wrong += 1
            figures.points_lost += max(points - have, 0)
            figures.points_doubled += max(have - points, 0)
            if len(figures.wrong_examples) < 10:
                figures.wrong_examples.append(f"customer {shopify_id}: {have} points, rules say {points}")
                figures.wrong_examples.extend(_ledger_lines(cluster, shop_id, shopify_id))
        tier = row.tier_name if row else None
        low, high = order.index(expected.tier_floor[shopify_id]), order.index(expected.tier_ceiling[shopify_id])
        if tier not in order or not low <= order.index(tier) <= high:
            figures.tier_outside_bounds += 1
    sent = emails_sent(cluster.sendgrid)
    figures.emails_sent = len(sent)
    per_message = Counter(message_id for message_id, _, _ in sent)
    welcome = Counter(to for _, flow, to in sent if flow == "welcome")
    figures.emails_twice = sum(n - 1 for n in per_message.values() if n > 1) + sum(n - 1 for n in welcome.values()
                                                                                   if n > 1)
    figures.inbox = inbox_counts(cluster)
    figures.dead_without_reason = dead
    figures.verify_exit = points_verify(cluster, domain)
    figures.emails_unsent = _outbox_unsent(cluster, ahead())
    _audit_referrals(cluster, shop_id, expected, figures)
    marked = _outbox_message_ids(cluster)
    figures.emails_once = sum(1 for message_id in marked[SENT] if per_message.get(message_id) == 1)
    figures.emails_not_in_sink = sum(1 for message_id in marked[SENT] if message_id not in per_message)
    figures.emails_not_in_outbox = sum(1 for message_id in per_message
                                       if message_id not in marked[SENT] and message_id not in marked[UNKNOWN])
    figures.outbox = outbox_summary(cluster)
    return figures


def _audit_referrals(cluster: Cluster, shop_id: int, expected: Expected, figures: Figures) -> None:
    """Clicks per advocate = landings sent to them; friend codes as the landing caps allow (one
    visitor IP here: 127.0.0.1); each friend's order a referral of the right advocate, decided
    as the fraud rules decide."""
    advocate = aliased(Customer)
    with cluster.app_state.db.transaction() as session:
        clicks = Counter({int(shopify_id): n for shopify_id, n in session.execute(
            select(advocate.shopify_id, func.count()).select_from(ReferralClick)
            .join(advocate, advocate.id == ReferralClick.advocate_id)
            .where(ReferralClick.shop_id == shop_id).group_by(advocate.shopify_id))})
        figures.friend_codes = session.execute(select(func.count(func.distinct(ReferralClick.friend_code))).where(
            ReferralClick.shop_id == shop_id, ReferralClick.friend_code.is_not(None))).scalar_one()
        found = {int(order_id): (int(shopify_id), status) for order_id, shopify_id, status in session.execute(
            select(Referral.friend_order_id, advocate.shopify_id, Referral.status)
            .join(advocate, advocate.id == Referral.advocate_id).where(Referral.shop_id == shop_id))}
    figures.clicks_wrong = sum(1 for who in set(clicks) | set(figures.clicks_expected)
                               if clicks[who] != figures.clicks_expected[who])
    figures.friend_codes_expected = min(CODES_PER_IP_PER_DAY, len(figures.clicks_expected))
    figures.referrals = Counter(status for _, status in found.values())
    figures.referrals_wrong = [f"order {order}: {found.get(order)}, rules say {want}"
                               for order, want in sorted(expected.referrals.items()) if found.get(order) != want]
    figures.referrals_wrong += [f"order {order}: {got}, not a referral by the rules"
                                for order, got in sorted(found.items()) if order not in expected.referrals]


def _outbox_message_ids(cluster: Cluster) -> dict[str, set[str]]:
    """message_id of every outbox row, by status."""
    by_status: dict[str, set[str]] = {SENT: set(), UNKNOWN: set()}
    with cluster.app_state.db.transaction() as session:
        for status, message_id in session.execute(select(OutboxMessage.status, OutboxMessage.message_id)):
            by_status.setdefault(status, set()).add(message_id)
    return by_status


def _ledger_lines(cluster: Cluster, shop_id: int, shopify_id: int) -> list[str]:
    """A wrong customer's ledger, for the report: what was posted, by which delivery."""
    with cluster.app_state.db.transaction() as session:
        rows = session.execute(select(LedgerEntry.kind, LedgerEntry.available, LedgerEntry.pending,
                                      LedgerEntry.key, LedgerEntry.source)
                               .join(Customer, Customer.id == LedgerEntry.customer_id)
                               .where(Customer.shop_id == shop_id, Customer.shopify_id == str(shopify_id))
                               .order_by(LedgerEntry.id)).all()
    return [f"    {r.kind} {r.available:+d}/{r.pending:+d} {r.key} ({r.source})" for r in rows]


def _tiers(cluster: Cluster, domain: str):
    with cluster.app_state.db.transaction() as session:
        doc = session.execute(select(Shop.program).where(Shop.domain == domain)).scalar_one()
    return load_program(doc).tiers


def points_verify(cluster: Cluster, domain: str) -> int:
    command = [sys.executable, "-m", "flask", "--app", "plugin", "embajador", "points", "verify", "--shop", domain]
    done = subprocess.run(command, cwd=ROOT, env=process_env(cluster.env), capture_output=True, text=True, timeout=120)
    return done.returncode
