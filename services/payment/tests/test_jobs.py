"""The worker's jobs against the bank simulator on a real port: expiry asks the bank first, reconciliation
finds lost callbacks, refunds go through the bank; and the whole path with real callbacks."""
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from prometheus_client import REGISTRY

from servicekit.tables import now
from servicekit.testing import wait_until

from payment import jobs
from payment.models import payment_orders, reconciliation_flags, refunds

CODE = "000.00.06.H56-261124-0001"


def age(db, code=CODE, *, created_ago=None, expired_ago=None):
    values = {}
    if created_ago is not None:
        values["created_at"] = now() - created_ago
    if expired_ago is not None:
        values["expires_at"] = now() - expired_ago
    with db.transaction() as conn:
        conn.execute(payment_orders.update().where(payment_orders.c.dossier_code == code).values(**values))


def pay_at_bank(bank, order, **script):
    response = bank.client.post("/v1/pay", json={"qr_payload": order.qr_payload, **script})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def queries(job, answer):
    return REGISTRY.get_sample_value("motcua_payment_bank_queries_total", {"job": job, "answer": answer}) or 0


@pytest.fixture
def bank(bank_sim):
    return bank_sim()


@pytest.fixture
def client(bank, bank_client):
    return bank_client(bank.url)


# ---- expiry ---------------------------------------------------------------------------------------
def test_expiry_finds_the_payment_at_the_bank_and_marks_the_order_paid(db, payment, settings_with_bank, bank,
                                                                      client, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    paid = pay_at_bank(bank, order, callback="skip")  # the callback is lost
    age(db, expired_ago=timedelta(minutes=1))
    counts = jobs.expire_due_orders(db, client, settings_with_bank)
    assert counts == {"paid": 1}
    assert payment.order().status == "paid" and payment.order().bank_txn_id == paid["transaction"]["bank_txn_id"]
    assert payment.events("payment.expired.v1") == []
    assert len(payment.events("payment.completed.v1")) == 1
    assert payment.history()[-1] == ("pending", "paid", "bank_query_at_expiry")


@pytest.mark.parametrize("script", [None, {"outcome": "failed"}])
def test_expiry_expires_an_order_the_bank_holds_no_payment_for(db, payment, settings_with_bank, bank, client,
                                                               dossier_submitted, script):
    order = payment.open_order(dossier_submitted)
    if script:
        pay_at_bank(bank, order, callback="skip", **script)
    age(db, expired_ago=timedelta(seconds=1))
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {"expired": 1}
    assert payment.order().status == "expired"
    event, = payment.events("payment.expired.v1")
    assert (event["reference"], event["amount_vnd"], event["agency_code"]) == (order.reference, 50000, "000.00.06.H56")
    assert payment.history()[-1] == ("pending", "expired", "expiry")
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {}  # nothing left to do


def test_an_order_not_yet_due_is_left_alone(db, payment, settings_with_bank, client, dossier_submitted):
    payment.open_order(dossier_submitted)
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {}
    assert payment.order().status == "pending"


def test_a_payment_still_pending_at_the_bank_keeps_the_order_open_until_it_settles(db, payment, settings_with_bank,
                                                                                   bank, client, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    pay_at_bank(bank, order, outcome="pending")
    age(db, expired_ago=timedelta(minutes=5))
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {"bank_pending": 1}
    assert payment.order().status == "pending"
    # Pending, then paid: the bank's callback is lost too; the next run finds it paid.
    assert bank.client.post(f"/v1/transactions/{order.reference}/resolve", json={"callback": "skip"}).status_code == 200
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {"paid": 1}
    assert payment.order().status == "paid"


def test_an_unreachable_bank_expires_nothing_and_is_counted(db, payment, settings_with_bank, bank, bank_client,
                                                            dossier_submitted):
    payment.open_order(dossier_submitted)
    payment.open_order(dossier_submitted, code="000.00.06.H56-261124-0002")
    age(db, expired_ago=timedelta(minutes=1))
    age(db, "000.00.06.H56-261124-0002", expired_ago=timedelta(minutes=1))
    before = queries("expiry", "unreachable")
    down = bank_client("http://127.0.0.1:9")  # nothing listens there
    assert jobs.expire_due_orders(db, down, settings_with_bank) == {"unreachable": 1}  # stops at the first failure
    assert queries("expiry", "unreachable") == before + 1
    assert payment.order().status == "pending" and payment.events("payment.expired.v1") == []
    # The bank answers again: the next run expires both.
    assert jobs.expire_due_orders(db, bank_client(bank.url), settings_with_bank) == {"expired": 2}


def test_a_bank_answering_5xx_or_nonsense_counts_as_unreachable(db, payment, settings_with_bank, serve, bank_client,
                                                                dossier_submitted):
    from flask import Flask

    broken = Flask("broken")
    broken.add_url_rule("/v1/transactions/<ref>", "tx", lambda ref: ({"status": "paid", "amount_vnd": 50000.0,
                                                                      "bank_txn_id": "T"}, 200))
    failing = Flask("failing")
    failing.add_url_rule("/v1/transactions/<ref>", "tx", lambda ref: ("busy", 503))
    payment.open_order(dossier_submitted)
    age(db, expired_ago=timedelta(minutes=1))
    for app in (broken, failing):
        assert jobs.expire_due_orders(db, bank_client(serve(app).url), settings_with_bank) == {"unreachable": 1}
    assert payment.order().status == "pending"


def test_a_wrong_amount_at_the_bank_is_flagged_and_the_order_expires_unpaid(db, payment, settings_with_bank, bank,
                                                                            client, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    pay_at_bank(bank, order, amount_vnd=40000, callback="skip")
    age(db, expired_ago=timedelta(minutes=1))
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {"amount_mismatch": 1}
    assert payment.order().status == "expired" and payment.events("payment.completed.v1") == []
    flag, = payment.rows(reconciliation_flags)
    assert (flag.kind, flag.expected_vnd, flag.received_vnd, flag.source) == ("amount_mismatch", 50000, 40000, "bank_query")


# ---- reconciliation ---------------------------------------------------------------------------------
def test_reconciliation_settles_a_lost_callback(db, payment, settings_with_bank, bank, client, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    pay_at_bank(bank, order, callback="skip")
    age(db, created_ago=timedelta(minutes=31))
    assert jobs.reconcile(db, client, settings_with_bank) == {"paid": 1}
    assert payment.order().status == "paid"
    assert payment.history()[-1] == ("pending", "paid", "reconciliation")
    assert len(payment.events("payment.completed.v1")) == 1


def test_reconciliation_asks_only_about_orders_between_30_minutes_and_3_days_old(db, payment, settings_with_bank,
                                                                                 bank, client, dossier_submitted):
    ages = {"0001": timedelta(minutes=10), "0002": timedelta(minutes=31), "0003": timedelta(hours=71),
            "0004": timedelta(hours=73)}
    for suffix, ago in ages.items():
        code = f"000.00.06.H56-261124-{suffix}"
        pay_at_bank(bank, payment.open_order(dossier_submitted, code=code), callback="skip")
        age(db, code, created_ago=ago)
    assert jobs.reconcile(db, client, settings_with_bank) == {"paid": 2}
    statuses = {suffix: payment.order(f"000.00.06.H56-261124-{suffix}").status for suffix in ages}
    assert statuses == {"0001": "pending", "0002": "paid", "0003": "paid", "0004": "pending"}


def test_reconciliation_leaves_unpaid_orders_pending_and_does_not_ask_again_at_once(db, payment, settings_with_bank,
                                                                                    client, dossier_submitted):
    payment.open_order(dossier_submitted)
    age(db, created_ago=timedelta(hours=1))
    slow = replace(settings_with_bank, reconcile_every_seconds=300)
    assert jobs.reconcile(db, client, slow) == {"bank_not_found": 1}
    assert jobs.reconcile(db, client, slow) == {}
    assert payment.order().status == "pending" and payment.order().checked_at is not None


def test_the_oldest_pending_order_is_reported_as_a_gauge(db, payment, client, settings_with_bank, dossier_submitted):
    payment.open_order(dossier_submitted)
    age(db, created_ago=timedelta(hours=2))
    jobs.reconcile(db, client, settings_with_bank)
    assert 7200 <= REGISTRY.get_sample_value("motcua_payments_oldest_pending_seconds") < 7300


# ---- refunds ----------------------------------------------------------------------------------------
def paid_order(payment, bank, dossier_submitted, app_client, post_callback):
    order = payment.open_order(dossier_submitted)
    answer = pay_at_bank(bank, order, callback="skip")
    callback = {"event_id": "evt-1", "reference": order.reference, "amount_vnd": 50000, "result_code": "00",
                "bank_txn_id": answer["transaction"]["bank_txn_id"], "paid_at": answer["transaction"]["paid_at"]}
    assert post_callback(app_client, callback).get_json() == {"result": "paid"}
    return order


def test_a_refused_paid_dossier_is_refunded_through_the_bank(db, payment, settings_with_bank, bank, client,
                                                             app_client, post_callback, dossier_submitted):
    order = paid_order(payment, bank, dossier_submitted, app_client, post_callback)
    payment.deliver("dossier.refused.v1", {"code": CODE, "agency_code": "000.00.06.H56", "reason": "Sai thủ tục"})
    assert jobs.send_refunds(db, client, settings_with_bank) == {"refunded": 1}
    assert payment.order().status == "refunded"
    at_bank = bank.client.get(f"/v1/refunds/RF-{order.reference}").get_json()
    assert (at_bank["amount_vnd"], at_bank["status"]) == (50000, "completed")
    assert bank.client.get(f"/v1/transactions/{order.reference}").get_json()["refunded_vnd"] == 50000
    event, = payment.events("payment.refunded.v1")
    assert event == {"_type": "payment.refunded.v1", "dossier_code": CODE, "agency_code": "000.00.06.H56",
                     "reference": order.reference, "amount_vnd": 50000, "refund_id": f"RF-{order.reference}",
                     "reason": "Hồ sơ không được tiếp nhận: Sai thủ tục", "refunded_at": event["refunded_at"]}
    assert payment.history() == [(None, "pending", "dossier.submitted"), ("pending", "paid", "bank_callback"),
                                 ("paid", "refunded", "dossier.refused")]
    assert jobs.send_refunds(db, client, settings_with_bank) == {}  # done once


def test_a_refund_the_bank_could_not_take_is_sent_again_and_the_bank_pays_it_once(
        db, payment, settings_with_bank, bank, bank_client, app_client, post_callback, dossier_submitted):
    order = paid_order(payment, bank, dossier_submitted, app_client, post_callback)
    payment.deliver("dossier.withdrawn.v1", {"code": CODE, "agency_code": "000.00.06.H56", "reason": "Rút"})
    assert jobs.send_refunds(db, bank_client("http://127.0.0.1:9"), settings_with_bank) == {"unreachable": 1}
    refund, = payment.rows(refunds)
    assert (refund.status, refund.attempts) == ("requested", 1) and payment.order().status == "paid"
    # A resend after a lost answer is the same refund at the bank (idempotent by refund_id).
    client = bank_client(bank.url)
    client.refund(refund_id=refund.refund_id, reference=order.reference, amount_vnd=50000, reason=refund.reason)
    assert jobs.send_refunds(db, client, settings_with_bank) == {"refunded": 1}
    assert bank.client.get(f"/v1/transactions/{order.reference}").get_json()["refunded_vnd"] == 50000


def test_a_refund_the_bank_refuses_is_flagged_and_the_order_stays_paid(db, payment, settings_with_bank, client,
                                                                       app_client, post_callback, make_callback,
                                                                       dossier_submitted):
    order = payment.open_order(dossier_submitted)
    post_callback(app_client, make_callback(order))  # paid by a callback the simulator never saw
    payment.deliver("dossier.stopped.v1", {"code": CODE, "agency_code": "000.00.06.H56", "reason": "Không đủ điều kiện"})
    assert jobs.send_refunds(db, client, settings_with_bank) == {"refused": 1}
    assert payment.order().status == "paid" and payment.rows(refunds)[0].status == "refused"
    assert [f.kind for f in payment.rows(reconciliation_flags)] == ["refund_refused"]
    assert jobs.send_refunds(db, client, settings_with_bank) == {}


# ---- the whole path, with the simulator calling back a served payment app ---------------------------
@pytest.mark.parametrize("script, outcomes", [
    ({}, ["paid"]),
    ({"callback": "twice"}, ["duplicate", "paid"]),
    ({"callback": "concurrent"}, ["duplicate", "paid"]),
    ({"callback_delay_s": 0.3}, ["paid"]),
])
def test_the_simulator_pays_a_real_order_through_signed_callbacks(db, payment, settings_with_bank, serve, bank_sim,
                                                                  dossier_submitted, script, outcomes):
    from payment.app import create_app
    from payment.models import bank_callbacks

    def counted():
        return {o: REGISTRY.get_sample_value("motcua_payment_callbacks_total", {"outcome": o}) or 0
                for o in ("paid", "duplicate", "already_paid")}

    served = serve(create_app(settings_with_bank))
    bank = bank_sim(callback_url=served.url + "/v1/gateway/callbacks")
    order = payment.open_order(dossier_submitted)
    before = counted()
    answer = pay_at_bank(bank, order, **script)
    assert answer["callback"]["delivered"] in (True, None)  # None: scheduled after the delay
    if "callback_delay_s" in script:
        assert answer["callback"]["scheduled"] and payment.order().status == "pending"

    def seen():
        delta = {o: int(n - before[o]) for o, n in counted().items()}
        return sorted(o for o, n in delta.items() for _ in range(n))

    wait_until(lambda: seen() == outcomes, timeout=10, message=f"callbacks seen: {seen()}")
    assert payment.order().status == "paid"
    assert len(payment.events("payment.completed.v1")) == 1
    callbacks = payment.rows(bank_callbacks)
    assert [c.outcome for c in callbacks] == ["paid"]  # a duplicate is never recorded twice
    metrics = requests.get(served.url + "/metrics", timeout=5).text
    assert "motcua_payment_callbacks_total" in metrics


def test_the_worker_runs_expiry_reconciliation_and_refunds_on_their_own_periods(db, payment, settings_with_bank,
                                                                                bank, dossier_submitted):
    from payment.worker import periodic_jobs

    settings = replace(settings_with_bank, bank_url=bank.url, expiry_every_seconds=7, reconcile_every_seconds=11,
                       refund_every_seconds=13)
    scheduled = periodic_jobs(settings, db)
    assert [(j.name, j.every_seconds) for j in scheduled] == [
        ("payment-expiry", 7), ("payment-reconciliation", 11), ("payment-refunds", 13)]
    order = payment.open_order(dossier_submitted)
    pay_at_bank(bank, order, callback="skip")
    age(db, expired_ago=timedelta(minutes=1))
    scheduled[0].run()
    assert payment.order().status == "paid"


def test_a_callback_arriving_after_expiry_is_flagged_and_the_order_stays_expired(db, payment, settings_with_bank,
                                                                                 client, app_client, post_callback,
                                                                                 make_callback, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    age(db, expired_ago=timedelta(minutes=1))
    assert jobs.expire_due_orders(db, client, settings_with_bank) == {"expired": 1}
    assert post_callback(app_client, make_callback(order)).get_json() == {"result": "paid_after_close"}
    assert payment.order().status == "expired" and payment.events("payment.completed.v1") == []
    flag, = payment.rows(reconciliation_flags)
    assert (flag.kind, flag.received_vnd, flag.agency_code) == ("paid_after_close", 50000, "000.00.06.H56")
