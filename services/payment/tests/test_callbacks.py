"""POST /v1/gateway/callbacks: signed bank callbacks settle an order once, and never on a wrong amount."""
import json
import threading
import time

import pytest
from prometheus_client import REGISTRY

from servicekit.signing import sign

from payment.models import bank_callbacks, reconciliation_flags

SECRET = "test-bank-secret"  # settings_with_bank's key (conftest)


def signed_post(client, body, *, secret=SECRET, timestamp=None, header=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if header is not False:
        headers["X-Motcua-Signature"] = header or sign(raw, secret, timestamp)
    return client.post("/v1/gateway/callbacks", data=raw, headers=headers)


def callback_for(order, **overrides):
    body = {"event_id": f"evt-{order.reference}", "reference": order.reference, "amount_vnd": order.amount_vnd,
            "result_code": "00", "bank_txn_id": f"TXN{order.reference}", "paid_at": "2026-11-24T02:10:00.000Z"}
    return body | overrides


@pytest.fixture(autouse=True)
def _same_secret(bank_secret):
    assert bank_secret == SECRET


def flags(payment):
    return [(f.kind, f.reference, f.expected_vnd, f.received_vnd) for f in payment.rows(reconciliation_flags)]


def test_exact_amount_marks_the_order_paid_and_publishes_payment_completed(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    response = signed_post(app_client, callback_for(order))
    assert response.status_code == 200 and response.get_json() == {"result": "paid"}
    paid = payment.order()
    assert (paid.status, paid.bank_txn_id, paid.amount_vnd) == ("paid", f"TXN{order.reference}", 50000)
    assert paid.paid_at.isoformat().startswith("2026-11-24T02:10:00")
    event, = payment.events("payment.completed.v1")
    assert event == {"_type": "payment.completed.v1", "dossier_code": order.dossier_code,
                     "agency_code": "000.00.06.H56", "reference": order.reference, "amount_vnd": 50000,
                     "paid_at": "2026-11-24T02:10:00.000Z", "bank_txn_id": f"TXN{order.reference}", "method": "online"}
    assert payment.history() == [(None, "pending", "dossier.submitted"), ("pending", "paid", "bank_callback")]


@pytest.mark.parametrize("case", ["unsigned", "wrong_signature", "wrong_secret", "stale", "future", "garbled"])
def test_a_callback_without_a_valid_fresh_signature_is_a_401_and_changes_nothing(app_client, payment,
                                                                                 dossier_submitted, case):
    order = payment.open_order(dossier_submitted)
    body = callback_for(order)
    raw = json.dumps(body).encode()
    kwargs = {
        "unsigned": {"header": False},
        "wrong_signature": {"header": f"t={int(time.time())},v1={'0' * 64}"},
        "wrong_secret": {"secret": "not-the-bank"},
        "stale": {"timestamp": int(time.time()) - 301},
        "future": {"timestamp": int(time.time()) + 301},
        "garbled": {"header": "t=abc,v1=é"},
    }[case]
    response = signed_post(app_client, raw, **kwargs)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert payment.order().status == "pending" and payment.rows(bank_callbacks) == []
    assert payment.events("payment.completed.v1") == []


def test_a_signature_over_another_body_is_a_401(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    header = sign(json.dumps(callback_for(order, amount_vnd=1)).encode(), SECRET)
    assert signed_post(app_client, callback_for(order), header=header).status_code == 401
    assert payment.order().status == "pending"


def test_the_previous_key_still_verifies_during_a_rotation(settings_with_bank, db, payment, dossier_submitted):
    from dataclasses import replace

    from payment.app import create_app

    rotating = replace(settings_with_bank, bank_webhook_secret="new-key", bank_webhook_secret_old=SECRET)
    client = create_app(rotating).test_client()
    order = payment.open_order(dossier_submitted)
    assert signed_post(client, callback_for(order), secret=SECRET).get_json() == {"result": "paid"}


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"event_id": '])
def test_a_signed_body_that_is_not_a_json_object_is_a_400(app_client, payment, raw):
    response = signed_post(app_client, raw)
    assert response.status_code == 400 and payment.rows(bank_callbacks) == []


@pytest.mark.parametrize("field, value", [
    ("event_id", None), ("event_id", ""), ("event_id", "x" * 65), ("event_id", "évt"), ("event_id", 12),
    ("reference", None), ("reference", ""), ("reference", "R" * 26), ("reference", "MC AB"), ("reference", 5),
    ("amount_vnd", None), ("amount_vnd", 0), ("amount_vnd", -50000), ("amount_vnd", 50000.0),
    ("amount_vnd", 50000.5), ("amount_vnd", "50000"), ("amount_vnd", True), ("amount_vnd", 10 ** 13),
    ("result_code", None), ("result_code", "0"), ("result_code", "000"), ("result_code", 0), ("result_code", "ok"),
    ("bank_txn_id", None), ("bank_txn_id", ""), ("bank_txn_id", "T" * 65), ("bank_txn_id", "T 1"),
    ("paid_at", "2026-11-24 02:10"), ("paid_at", "2026-11-24T02:10:00"), ("paid_at", 1764000000),
    ("paid_at", None),
])
def test_each_malformed_field_is_a_422_naming_it_and_changes_nothing(app_client, payment, dossier_submitted,
                                                                     field, value):
    order = payment.open_order(dossier_submitted)
    body = callback_for(order)
    if value is None and field != "paid_at":
        del body[field]
    else:
        body[field] = value
    response = signed_post(app_client, body)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]["json"]) == [field]
    assert payment.order().status == "pending" and payment.rows(bank_callbacks) == []


def test_a_failed_attempt_may_carry_no_paid_at_and_extra_fields_are_ignored(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    body = callback_for(order, result_code="99", paid_at=None, bank_code="970436")
    assert signed_post(app_client, body).get_json() == {"result": "failed"}


def test_the_same_event_delivered_twice_is_one_payment(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    assert signed_post(app_client, callback_for(order)).get_json() == {"result": "paid"}
    assert signed_post(app_client, callback_for(order)).get_json() == {"result": "duplicate"}
    assert len(payment.events("payment.completed.v1")) == 1 and len(payment.rows(bank_callbacks)) == 1


def test_the_same_payment_under_a_new_event_id_changes_nothing(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    signed_post(app_client, callback_for(order))
    again = signed_post(app_client, callback_for(order, event_id="evt-retry")).get_json()
    assert again == {"result": "already_paid"}
    assert len(payment.events("payment.completed.v1")) == 1 and flags(payment) == []


@pytest.mark.parametrize("same_event_id", [True, False])
def test_two_identical_callbacks_at_the_same_moment_give_one_payment(settings_with_bank, db, payment,
                                                                     dossier_submitted, same_event_id):
    """Two app instances (two engines, as two gunicorn workers) answer two threads released together."""
    from payment.app import create_app

    order = payment.open_order(dossier_submitted)
    clients = [create_app(settings_with_bank).test_client() for _ in range(2)]
    start = threading.Barrier(2)
    answers = []

    def post(n):
        body = callback_for(order) if same_event_id else callback_for(order, event_id=f"evt-{n}")
        start.wait()
        answers.append(signed_post(clients[n], body))

    for _ in range(5):  # several rounds: a race that is lost only sometimes still shows
        threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert all(a.status_code == 200 for a in answers)
    results = sorted(a.get_json()["result"] for a in answers)
    assert results.count("paid") == 1
    assert set(results) - {"paid"} == ({"duplicate"} if same_event_id else {"duplicate", "already_paid"})
    assert len(payment.events("payment.completed.v1")) == 1
    assert payment.history()[-1] == ("pending", "paid", "bank_callback") and len(payment.history()) == 2


def test_a_wrong_amount_is_not_paid_and_is_flagged_for_reconciliation(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    before = REGISTRY.get_sample_value("motcua_payment_reconciliation_flags_total", {"kind": "amount_mismatch"}) or 0
    response = signed_post(app_client, callback_for(order, amount_vnd=5000))
    assert response.get_json() == {"result": "amount_mismatch"}
    assert payment.order().status == "pending" and payment.events("payment.completed.v1") == []
    assert flags(payment) == [("amount_mismatch", order.reference, 50000, 5000)]
    assert REGISTRY.get_sample_value("motcua_payment_reconciliation_flags_total", {"kind": "amount_mismatch"}) == before + 1
    # The right amount afterwards still pays the order.
    assert signed_post(app_client, callback_for(order, event_id="evt-2", bank_txn_id="TXN2")).get_json() == {"result": "paid"}


def test_an_unknown_reference_is_recorded_and_flagged(app_client, payment):
    body = {"event_id": "evt-x", "reference": "MCNOSUCHREF1", "amount_vnd": 20000, "result_code": "00",
            "bank_txn_id": "TXNX", "paid_at": "2026-11-24T02:10:00.000Z"}
    assert signed_post(app_client, body).get_json() == {"result": "unknown_reference"}
    recorded, = payment.rows(bank_callbacks)
    assert (recorded.reference, recorded.outcome, recorded.order_id) == ("MCNOSUCHREF1", "unknown_reference", None)
    assert flags(payment) == [("unknown_reference", "MCNOSUCHREF1", None, 20000)]
    assert payment.events() == []


def test_a_failed_result_publishes_payment_failed_and_leaves_the_order_open(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    assert signed_post(app_client, callback_for(order, result_code="99")).get_json() == {"result": "failed"}
    assert payment.order().status == "pending"
    event, = payment.events("payment.failed.v1")
    assert (event["result_code"], event["reference"], event["agency_code"]) == ("99", order.reference, "000.00.06.H56")
    assert event["reason"] == "Ngân hàng báo giao dịch không thành công (mã 99)"
    assert payment.history()[-1] == ("pending", "pending", "bank_failed")
    # The citizen tries again and pays.
    retry = callback_for(order, event_id="evt-2", bank_txn_id="TXN2")
    assert signed_post(app_client, retry).get_json() == {"result": "paid"}


def test_a_payment_after_the_order_closed_is_flagged_not_applied(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    payment.deliver("dossier.withdrawn.v1", {"code": order.dossier_code, "agency_code": "000.00.06.H56",
                                             "reason": "Không còn nhu cầu"})
    assert signed_post(app_client, callback_for(order)).get_json() == {"result": "paid_after_close"}
    assert payment.order().status == "cancelled" and payment.events("payment.completed.v1") == []
    assert flags(payment)[0][0] == "paid_after_close"


def test_a_second_payment_of_a_paid_order_is_flagged(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    signed_post(app_client, callback_for(order))
    second = callback_for(order, event_id="evt-2", bank_txn_id="TXN-OTHER")
    assert signed_post(app_client, second).get_json() == {"result": "second_payment"}
    assert flags(payment) == [("second_payment", order.reference, 50000, 50000)]
    assert len(payment.events("payment.completed.v1")) == 1


def test_callbacks_are_counted_by_outcome(app_client, payment, dossier_submitted):
    order = payment.open_order(dossier_submitted)
    before = REGISTRY.get_sample_value("motcua_payment_callbacks_total", {"outcome": "duplicate"}) or 0
    signed_post(app_client, callback_for(order))
    signed_post(app_client, callback_for(order))
    assert REGISTRY.get_sample_value("motcua_payment_callbacks_total", {"outcome": "duplicate"}) == before + 1
    assert b"motcua_payments_amount_vnd_total" in app_client.get("/metrics").data


def test_the_callback_is_documented_with_its_signature_header(app_client):
    spec = app_client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/gateway/callbacks"]["post"]
    assert any(p["name"] == "X-Motcua-Signature" for p in operation["parameters"])
    assert {"200", "400", "401", "422"} <= set(operation["responses"])
