"""Outside parties misbehaving (issue 13, part 2), each against one running suite (SQLite) on its own vhost.

- the SMS gateway down, then back: every message sent once, in order per dossier;
- the bank losing callbacks, sending them twice, at once, late, or with a wrong amount: every order settles right;
- the postal operator reporting twice and out of order: every shipment ends in its true state;
- intake's relay stuck between publishing and marking sent, then killed, under load: duplicates absorbed;
- intake's database locked for 30 s under load: filings answered 201 or 503, never lost, flowing again after.

Each prints a FIGURES line (accepted, delivered, duplicates absorbed, seconds to recover).
The broker itself killed under load, a worker dying between commit and ack, events delivered twice and a
handler failing until replayed are tests/test_faults.py's; they are not repeated here.
"""
from __future__ import annotations

import collections
import importlib
import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

import pytest

from scripts.suite import start_suite
from servicekit.testing import throwaway_vhost

pytestmark = pytest.mark.slow

J = sys.modules["motcua_tests_support_journeys"]  # tests/support/journeys.py, loaded by tests/conftest.py
helpers = sys.modules["motcua_tests_support_motcua"]  # tests/support/motcua.py (case codes, metrics), the same way

# Services 8601-8605, simulators 8701-8704 would meet bench's (+700); +580 keeps clear: 8581-8585 / 8681-8684.
PORT_OFFSET = 580
AGENCY = "000.00.06.H56"
NO_FEE, FEE_BEFORE = "1.001193.H56", "1.004873.H56"
RETRY_BASE_S = 0.5  # notify's retry base for the suite (production 2 s): the outage below scales by 4
SMS_OUTAGE_S = 15  # = 60 s at the production retry base (2 s): "down for a minute"
LOCK_S = 30


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    base = tmp_path_factory.mktemp("misbehaving")
    with ExitStack() as stack:
        vhost = stack.enter_context(throwaway_vhost())
        env = {"MOTCUA_AMQP_URL": vhost, "POSTAL_SIM_AUTO_DELIVER": "0", "MOTCUA_SMTP_URL": "smtp://127.0.0.1:9",
               "NOTIFY_RETRY_BASE_SECONDS": str(RETRY_BASE_S),
               "PAYMENT_ORDER_TTL_HOURS": "0.004",  # 14.4 s: a lost callback is settled by the bank query at expiry
               "PAYMENT_EXPIRY_EVERY_SECONDS": "1", "PAYMENT_RECONCILE_EVERY_SECONDS": "1",
               "MOTCUA_RELAY_LEASE_SECONDS": "31"}
        running = start_suite(base, env, PORT_OFFSET)
        stack.callback(running.stop)
        yield running


_phones = iter(range(1, 100_000))


def phone() -> str:
    return f"8496{next(_phones):07d}"


def gateway_messages(suite) -> list[dict]:
    r = J.HTTP.get(suite.url("sms-gateway", "/v1/messages"), timeout=15)
    r.raise_for_status()
    return r.json()["items"]


def notify_messages(suite, officers, code) -> list[dict]:
    r = J.HTTP.get(suite.url("notify", "/v1/notifications"), params={"dossier_code": code},
                   headers=officers.headers["clerk"], timeout=15)
    r.raise_for_status()
    return [m for m in r.json()["items"] if m["channel"] == "sms"]


# ---- the SMS gateway ---------------------------------------------------------------------------------------------
def test_sms_gateway_down_then_back_every_message_sent_once_in_order_per_dossier(suite, figures):
    officers = J.Officers(suite, AGENCY)
    suite.kill("sms-gateway")
    assert suite.wait_exit("sms-gateway", 10) is not None
    down_at = time.monotonic()
    citizens = []
    # Dossiers with two notices each: filed, then received by the clerk.
    while time.monotonic() - down_at < SMS_OUTAGE_S - 3:
        citizens.append(J.Citizen.file(suite, NO_FEE, phone()))
        officers.receive(citizens[-1].code)
        time.sleep(0.3)
    time.sleep(max(SMS_OUTAGE_S - (time.monotonic() - down_at), 0))
    suite.restart("sms-gateway")
    back_at = time.monotonic()
    codes = {c.code for c in citizens}

    def everything_at_the_gateway():
        per_code = Counter()
        for m in gateway_messages(suite):
            for code in codes:
                if code in (m.get("text") or ""):
                    per_code[code] += 1
        return all(per_code[c] >= 2 for c in codes)

    try:
        J.wait_for("every dossier's two SMS at the gateway", everything_at_the_gateway, timeout=60, interval=0.5)
    finally:
        states = Counter(m["status"] for c in citizens for m in notify_messages(suite, officers, c.code))
    recovered_s = time.monotonic() - back_at
    time.sleep(1.5)
    received = gateway_messages(suite)
    ours = [m for m in received if any(c in (m.get("text") or "") for c in codes)]
    ids = Counter(m["message_id"] for m in ours)
    assert all(n == 1 for n in ids.values()), {i: n for i, n in ids.items() if n > 1}
    out_of_order = []
    for citizen in citizens:
        created = [m["message_id"] for m in sorted(notify_messages(suite, officers, citizen.code),
                                                   key=lambda m: m["created_at"])]
        arrived = [m["message_id"] for m in sorted((m for m in ours if citizen.code in m["text"]),
                                                   key=lambda m: (m["received_at"], m.get("id", 0)))]
        if arrived != created:
            out_of_order.append(citizen.code)
    figures("SMS-OUTAGE-FIGURES", {"dossiers": len(citizens), "messages": len(ours), "duplicates": sum(ids.values()) - len(ids),
                                   "outage_seconds": SMS_OUTAGE_S, "retry_base_seconds": RETRY_BASE_S,
                                   "seconds_to_deliver_all_after_back": round(recovered_s, 2),
                                   "out_of_order_dossiers": len(out_of_order), "notify_states": dict(states)})
    assert not out_of_order, out_of_order


# ---- the bank ------------------------------------------------------------------------------------------------------
def test_the_bank_losing_doubling_racing_delaying_and_short_paying_callbacks_every_order_settles_right(suite, figures):
    officers = J.Officers(suite, AGENCY)
    scripts = {
        "lost": {"callback": "skip"},
        "twice": {"callback": "twice"},
        "concurrent": {"callback": "concurrent"},
        "late (3 s)": {"callback_delay_s": 3},
        "wrong amount": {"amount_vnd": 9_000},
        "failed then paid": None,
    }
    citizens = {name: J.Citizen.file(suite, FEE_BEFORE, phone()) for name in scripts}
    for name, script in scripts.items():
        if script is None:
            citizens[name].pay(outcome="failed")
            citizens[name].pay()
        else:
            citizens[name].pay(**script)
    settled = {}

    def order(name):
        return officers.order(citizens[name].code)

    for name in ("twice", "concurrent", "late (3 s)", "failed then paid", "lost"):
        o = J.wait_for(f"the {name} order paid", lambda name=name: (lambda o: o if o["status"] == "paid" else None)(
            order(name)), timeout=40)
        paid_at = next(h["at"] for h in o["history"] if h["to_status"] == "paid")
        settled[name] = {"status": o["status"], "cause": [h["cause"] for h in o["history"] if h["to_status"] == "paid"],
                         "seconds_from_order_to_paid": round((datetime.fromisoformat(paid_at) - datetime.fromisoformat(
                             o["created_at"])).total_seconds(), 2)}
        assert sum(1 for h in o["history"] if h["to_status"] == "paid") == 1, o
        citizens[name].wait_status("submitted", timeout=20)  # the dossier moved on, once
    assert settled["lost"]["cause"] != ["callback"] and settled["lost"]["cause"], settled["lost"]  # the bank query
    wrong = J.wait_for("the short-paid order closed", lambda: (lambda o: o if o["status"] != "pending" else None)(
        order("wrong amount")), timeout=40)
    settled["wrong amount"] = {"status": wrong["status"], "detail": [h["detail"] for h in wrong["history"]][-1]}
    assert wrong["status"] != "paid", wrong
    assert citizens["wrong amount"].view()["status"] in ("awaiting_payment", "stopped")
    for name, c in citizens.items():
        case = officers.case(c.code)
        assert sum(1 for a in case["audit"] if a["to_status"] == "submitted" and a["from_status"] == "awaiting_payment") \
            <= 1, (name, case["audit"])
    figures("BANK-FIGURES", settled)


# ---- the postal operator ---------------------------------------------------------------------------------------------
def test_the_postal_operator_reporting_twice_and_out_of_order_leaves_each_shipment_in_its_true_state(suite, figures):
    officers = J.Officers(suite, AGENCY)
    base = datetime.now(timezone.utc)

    def at(minutes):
        return (base + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    plans = {
        # (status, minutes after dispatch, event id) in the order the operator sends them
        "delivered first, then the older steps, then delivered again": [
            ("delivered", 30, "d"), ("in_transit", 20, "t"), ("picked_up", 10, "p"), ("accepted", 5, "a"),
            ("delivered", 30, "d")],
        "every report twice": [("accepted", 5, "a"), ("accepted", 5, "a"), ("in_transit", 20, "t"),
                               ("in_transit", 20, "t"), ("delivered", 30, "d"), ("delivered", 30, "d")],
        "returned to sender, a late failed attempt after it": [
            ("accepted", 5, "a"), ("returned_to_sender", 40, "r"), ("failed_attempt", 25, "f"), ("in_transit", 20, "t")],
    }
    truth = {"delivered first, then the older steps, then delivered again": ("delivered", "returned"),
             "every report twice": ("delivered", "returned"),
             "returned to sender, a late failed attempt after it": ("returned_to_sender", "result_ready")}
    citizens = {}
    for name in plans:
        c = citizens[name] = J.Citizen.file(suite, NO_FEE, phone(), post=True)
        officers.receive(c.code)
        officers.review_and_issue(c.code)
    sent = 0
    for name, plan in plans.items():
        c = citizens[name]
        shipment = J.wait_for("dispatched", lambda c=c: (lambda s: s if s and s.get("tracking_no") and s["status"] not in (
            "created", "pending", "awaiting_result") else None)(officers.shipment(c.code)))
        tracking = shipment["tracking_no"]
        J.wait_for("the operator's order", lambda: J.HTTP.get(suite.url("postal-operator", f"/v1/orders/{tracking}"),
                                                                timeout=5).status_code == 200)
        prefix = uuid.uuid4().hex[:8]
        for status, minutes, key in plan:
            J.report_postal(suite, tracking, status, event_id=f"{prefix}-{key}", at=at(minutes))
            sent += 1
    outcomes = {}
    for name, (shipment_status, dossier_status) in truth.items():
        c = citizens[name]
        view = c.wait_status(dossier_status, timeout=20)
        s = J.wait_for("the true end state", lambda c=c: (lambda s: s if s["status"] == shipment_status else None)(
            officers.shipment(c.code)), timeout=20)
        time.sleep(0.5)
        assert officers.shipment(c.code)["status"] == shipment_status
        assert view["delivery"]["status"] == shipment_status, view["delivery"]
        outcomes[name] = Counter(h["outcome"] for h in officers.shipment(c.code)["history"] if h["source"] == "carrier")
    figures("POSTAL-FIGURES", {"reports_sent": sent, "outcomes": {k: dict(v) for k, v in outcomes.items()}})


# ---- intake's relay and database ----------------------------------------------------------------------------------
class Stream:
    """Filings from `threads` clients at once, their documents uploaded beforehand; a filing answered 503 (or
    cut off) is filed again later with the same key and body, as a front end would."""

    def __init__(self, suite, prefix, count, threads=3):
        self.suite = suite
        procedure = J.Citizen.procedure(suite, NO_FEE)
        self.todo = collections.deque(
            (f"{prefix}-{n}", J.Citizen.body(suite, procedure, f"8495{n:07d}", post=False, email_address=None))
            for n in range(count))
        self.accepted: dict[str, str] = {}  # key -> code
        self.answers = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            try:
                key, body = self.todo.popleft()
            except IndexError:
                return
            try:
                r = J.HTTP.post(self.suite.url("intake", "/v1/dossiers"), json=body, timeout=40,
                                headers={"Idempotency-Key": key})
                answer = r.status_code
            except Exception as exc:  # noqa: BLE001 - counted, the key retried
                answer = type(exc).__name__
            with self.lock:
                self.answers[answer] += 1
                if answer == 201:
                    self.accepted[key] = r.json()["code"]
                else:
                    if not isinstance(answer, str) and answer != 503:
                        self.answers[f"{answer}: {r.text[:80]}"] += 1
                    self.todo.append((key, body))
            if answer != 201:
                time.sleep(0.2)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def test_intake_database_locked_30_s_under_load_filings_503_or_accepted_never_lost_and_flowing_again(suite, figures):
    stream = Stream(suite, f"lock-{uuid.uuid4().hex[:6]}", count=250)
    total = len(stream.todo)
    with stream:
        J.wait_for("filings flowing", lambda: len(stream.accepted) >= 10, timeout=30)
        lock = sqlite3.connect(suite.database_path("intake"), timeout=10, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        accepted_before = len(stream.accepted)
        time.sleep(LOCK_S)
        during = dict(stream.answers)
        lock.execute("ROLLBACK")
        lock.close()
        released_at = time.monotonic()
        J.wait_for("a filing accepted after the lock", lambda: len(stream.accepted) > accepted_before + 5, timeout=30)
        first_after = time.monotonic() - released_at
        J.wait_for("every filing accepted in the end", lambda: len(stream.accepted) == total, timeout=120, interval=0.5)
        all_in = time.monotonic() - released_at
    codes = set(stream.accepted.values())
    assert len(codes) == total, "one dossier per key"
    bad = {k: v for k, v in stream.answers.items() if k not in (201, 503, "ReadTimeout", "ConnectionError")}
    assert not bad, bad
    assert during.get(503, 0) > 0, f"no filing met the lock: {during}"
    cases_at = time.monotonic()
    J.wait_for("a case for every accepted filing", lambda: codes <= set(helpers.case_codes(suite)), timeout=60,
               interval=0.5)
    cases = Counter(helpers.case_codes(suite))
    assert all(cases[c] == 1 for c in codes)
    figures("DB-LOCK-FIGURES", {"lock_seconds": LOCK_S, "filings_accepted": len(codes), "answers": {str(k): v for k, v in
                                stream.answers.items()}, "answers_until_release": {str(k): v for k, v in during.items()},
                                "seconds_to_first_filing_after_release": round(first_after, 2),
                                "seconds_until_every_filing_accepted": round(all_in, 2),
                                "seconds_until_every_case": round(time.monotonic() - cases_at, 2)})


def test_intake_relay_stuck_between_publishing_and_marking_sent_then_killed_under_load_duplicates_absorbed(
        suite, figures):
    outbox = importlib.import_module("intake.models").outbox.name
    db = sqlite3.connect(suite.database_path("intake"), timeout=10, isolation_level=None)
    duplicates_before = sum(helpers.metric_sum(suite, s, "motcua_events_consumed_total", outcome="duplicate")
                            for s in ("processing", "payment", "postal", "notify"))
    try:
        # Publishing works, marking the rows sent does not: every event goes out and stays pending.
        db.execute(f"CREATE TRIGGER test_fault_mark_sent BEFORE UPDATE OF sent_at ON {outbox} "
                   "WHEN NEW.sent_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected: cannot mark sent'); END")
        with Stream(suite, f"relay-{uuid.uuid4().hex[:6]}", count=80, threads=2) as stream:
            J.wait_for("filings published but not marked", lambda: len(stream.accepted) >= 40, timeout=60)
            stuck = db.execute(f"SELECT COUNT(*) FROM {outbox} WHERE sent_at IS NULL").fetchone()[0]
            suite.kill("intake-worker", signal.SIGKILL)
            suite.wait_exit("intake-worker", 10)
            db.execute("DROP TRIGGER test_fault_mark_sent")
            killed_at = time.monotonic()
            suite.restart("intake-worker")
            time.sleep(2)
    finally:
        db.close()
    codes = set(stream.accepted.values())
    J.wait_for("a case for every filing", lambda: codes <= set(helpers.case_codes(suite)), timeout=90, interval=0.5)
    recovered = time.monotonic() - killed_at
    db = sqlite3.connect(suite.database_path("intake"), timeout=10)
    try:
        J.wait_for("the outbox drained", lambda: db.execute(f"SELECT COUNT(*) FROM {outbox} WHERE sent_at IS NULL")
                   .fetchone()[0] == 0, timeout=60)
    finally:
        db.close()
    time.sleep(1.5)
    cases = Counter(helpers.case_codes(suite))
    assert all(cases[c] == 1 for c in codes)
    per_code = Counter()
    for m in gateway_messages(suite):
        for c in codes:
            if c in (m.get("text") or ""):
                per_code[c] += 1
    assert all(per_code[c] == 1 for c in codes), {c: per_code[c] for c in codes if per_code[c] != 1}
    duplicates = sum(helpers.metric_sum(suite, s, "motcua_events_consumed_total", outcome="duplicate")
                     for s in ("processing", "payment", "postal", "notify")) - duplicates_before
    assert duplicates > 0, "no event was published twice: the fault did not bite"
    figures("RELAY-FIGURES", {"filings_accepted": len(codes), "events_stuck_unmarked_at_kill": stuck,
                              "duplicates_absorbed": int(duplicates), "cases": sum(cases[c] for c in codes),
                              "sms": sum(per_code.values()), "seconds_to_recover": round(recovered, 2)})
