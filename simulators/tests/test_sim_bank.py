"""The bank simulator: VietQR parsing, payments, signed callbacks and status queries."""
import json

import pytest

from motcua_sims.bank import InvalidQR, Settings, crc16_ccitt_false, create_app, parse_vietqr

SECRET = "test-bank-secret"
# DOMAIN.md "VietQR payment payload": test vectors whose CRC was checked independently.
VECTORS = [
    "00020101021238540010A00000072701240006970436011010175956000208QRIBFTTA530370454061800005802VN"
    "62230819thanh toan don hang630470FA",
    "00020101021238530010A0000007270123000697041601092245284790208QRIBFTTA53037045405100005802VN"
    "62340107NPS68690819TRANSFER TO SOMEONE6304AC13",
    "00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN63049E6F",
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
    "62170813ung ho lu lut6304C15C",
]


@pytest.fixture
def bank(tmp_path, receiver):
    return create_app(Settings(db_path=tmp_path / "bank.db", callback_url=receiver.url,
                               webhook_secret=SECRET)).test_client()


def test_crc_check_value_of_123456789_is_29b1():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("payload", VECTORS)
def test_crc_of_each_domain_test_vector_matches_its_tag_63(payload):
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == payload[-4:]
    assert parse_vietqr(payload)["bin"].startswith("970")


def test_domain_test_vectors_parse_into_bank_account_amount_and_reference():
    parsed = [parse_vietqr(p) for p in VECTORS]
    assert [(p["bin"], p["account"], p["amount_vnd"]) for p in parsed] == [
        ("970436", "1017595600", 180000), ("970416", "224528479", 10000),
        ("970403", "0011012345678", None), ("970415", "0011001932418", 120000)]
    assert [p["dynamic"] for p in parsed] == [True, True, False, True]
    assert parsed[1]["bill_number"] == "NPS6869" and parsed[1]["purpose"] == "TRANSFER TO SOMEONE"
    assert parsed[3]["purpose"] == "ung ho lu lut"


@pytest.mark.parametrize("mangle", [
    lambda p: p[:-1] + ("0" if p[-1] != "0" else "1"),   # wrong CRC
    lambda p: p.replace("5802VN", "5802US"),              # field changed, CRC now stale
    lambda p: p[:-8],                                     # CRC missing
    lambda p: "X" + p,
])
def test_altered_payload_is_rejected(mangle):
    with pytest.raises(InvalidQR):
        parse_vietqr(mangle(VECTORS[0]))


def test_pay_sends_a_signed_success_callback_with_the_reference_label(bank, receiver, verify_signature, vietqr):
    response = bank.post("/v1/pay", json={"qr_payload": vietqr(amount_vnd=150_000, reference="PAY2025000123")})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["transaction"]["status"] == "paid" and answer["transaction"]["reference"] == "PAY2025000123"
    assert answer["callback"]["delivered"] is True and answer["transaction"]["callback_delivered"] is True

    [received] = receiver.requests
    callback = json.loads(received["body"])
    assert callback["reference"] == "PAY2025000123" and callback["amount_vnd"] == 150_000
    assert callback["result_code"] == "00" and callback["bank_txn_id"] == answer["transaction"]["bank_txn_id"]
    assert callback["event_id"] and callback["paid_at"].endswith("Z")
    assert verify_signature(received["headers"]["X-Motcua-Signature"], received["body"], SECRET)
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["status"] == "paid"


def test_bill_number_is_the_reference_when_there_is_no_reference_label(bank, receiver):
    assert bank.post("/v1/pay", json={"qr_payload": VECTORS[1]}).status_code == 200
    assert receiver.json_bodies()[0]["reference"] == "NPS6869"


def test_wrong_amount_is_paid_as_given(bank, receiver, vietqr):
    answer = bank.post("/v1/pay", json={"qr_payload": vietqr(amount_vnd=150_000), "amount_vnd": 100_000}).get_json()
    assert answer["transaction"]["amount_vnd"] == 100_000 and answer["transaction"]["order_amount_vnd"] == 150_000
    assert receiver.json_bodies()[0]["amount_vnd"] == 100_000


def test_failed_outcome_sends_result_code_99(bank, receiver, vietqr):
    bank.post("/v1/pay", json={"qr_payload": vietqr(), "outcome": "failed"})
    assert receiver.json_bodies()[0]["result_code"] == "99"
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["status"] == "failed"


def test_pending_outcome_records_pending_and_sends_no_callback(bank, receiver, vietqr):
    answer = bank.post("/v1/pay", json={"qr_payload": vietqr(), "outcome": "pending"}).get_json()
    assert answer["transaction"]["status"] == "pending" and answer["callback"] is None
    assert receiver.requests == []
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["status"] == "pending"


def test_pending_payment_resolved_later_sends_the_callback(bank, receiver, vietqr):
    bank.post("/v1/pay", json={"qr_payload": vietqr(), "outcome": "pending"})
    answer = bank.post("/v1/transactions/PAY2025000123/resolve", json={"outcome": "success"}).get_json()
    assert answer["transaction"]["status"] == "paid" and answer["callback"]["delivered"] is True
    assert [c["result_code"] for c in receiver.json_bodies()] == ["00"]
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["status"] == "paid"
    assert bank.post("/v1/transactions/PAY2025000123/resolve", json={}).status_code == 404


def test_callback_sent_twice_repeats_the_same_event(bank, receiver, vietqr):
    bank.post("/v1/pay", json={"qr_payload": vietqr(), "callback": "twice"})
    first, second = receiver.json_bodies()
    assert first == second


def test_skipped_callback_leaves_the_payment_to_the_status_query(bank, receiver, vietqr):
    answer = bank.post("/v1/pay", json={"qr_payload": vietqr(), "callback": "skip"}).get_json()
    assert answer["callback"]["delivered"] is False and receiver.requests == []
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["status"] == "paid"


def test_payment_service_down_is_reported_in_the_answer(tmp_path, vietqr):
    client = create_app(Settings(db_path=tmp_path / "bank.db", callback_url="http://127.0.0.1:9/nothing")).test_client()
    response = client.post("/v1/pay", json={"qr_payload": vietqr()})
    assert response.status_code == 200
    callback = response.get_json()["callback"]
    assert callback["delivered"] is False and callback["status_code"] is None and "ConnectionError" in callback["error"]
    assert client.get("/v1/transactions/PAY2025000123").get_json()["status"] == "paid"


def test_callback_rejected_by_the_payment_service_is_not_retried(bank, receiver, vietqr):
    receiver.status = 401
    callback = bank.post("/v1/pay", json={"qr_payload": vietqr()}).get_json()["callback"]
    assert callback["delivered"] is False and callback["status_code"] == 401 and len(receiver.requests) == 1


@pytest.mark.parametrize("body, field", [
    ({"qr_payload": VECTORS[0][:-1] + "0"}, "qr_payload"),
    ({"qr_payload": VECTORS[0]}, "qr_payload"),            # no reference in tag 62
    ({}, "qr_payload"),
    ({"qr_payload": VECTORS[1], "amount_vnd": "10000"}, "amount_vnd"),
    ({"qr_payload": VECTORS[1], "amount_vnd": -5}, "amount_vnd"),
    ({"qr_payload": VECTORS[1], "outcome": "maybe"}, "outcome"),
])
def test_bad_payment_request_is_a_422_naming_the_field(bank, receiver, body, field):
    response = bank.post("/v1/pay", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert receiver.requests == []


def test_static_qr_needs_an_amount(bank, vietqr):
    static = vietqr(amount_vnd=None, reference="STATIC01")
    assert bank.post("/v1/pay", json={"qr_payload": static}).status_code == 422
    assert bank.post("/v1/pay", json={"qr_payload": static, "amount_vnd": 20_000}).status_code == 200


def test_unknown_reference_is_a_json_404(bank):
    response = bank.get("/v1/transactions/NOPE")
    assert response.status_code == 404 and response.get_json()["code"] == 404


# --- scripted callbacks: concurrent, delayed ---------------------------------------------------------------

def test_concurrent_callback_sends_the_same_event_twice_at_once(bank, receiver, vietqr):
    answer = bank.post("/v1/pay", json={"qr_payload": vietqr(), "callback": "concurrent"}).get_json()
    assert answer["callback"]["sent"] == 2 and answer["callback"]["delivered"] is True
    first, second = receiver.json_bodies()
    assert first == second


def test_delayed_callback_is_sent_after_the_answer(bank, receiver, vietqr):
    answer = bank.post("/v1/pay", json={"qr_payload": vietqr(), "callback_delay_s": 0.3}).get_json()
    assert answer["callback"]["scheduled"] is True and answer["callback"]["delay_s"] == 0.3
    assert receiver.requests == []
    assert len(receiver.wait_for(1)) == 1
    assert receiver.json_bodies()[0]["result_code"] == "00"


def test_the_default_callback_delay_comes_from_the_settings(tmp_path, receiver, vietqr):
    client = create_app(Settings(db_path=tmp_path / "bank.db", callback_url=receiver.url, webhook_secret=SECRET,
                                 callback_delay_s=0.2)).test_client()
    assert client.post("/v1/pay", json={"qr_payload": vietqr()}).get_json()["callback"]["scheduled"] is True
    assert len(receiver.wait_for(1)) == 1


@pytest.mark.parametrize("delay", [-1, "1", 601, True])
def test_a_bad_callback_delay_is_a_422(bank, receiver, vietqr, delay):
    response = bank.post("/v1/pay", json={"qr_payload": vietqr(), "callback_delay_s": delay})
    assert response.status_code == 422 and "callback_delay_s" in response.get_json()["errors"]["json"]


def test_settings_read_the_callback_delay_from_the_environment(monkeypatch):
    monkeypatch.setenv("BANK_SIM_CALLBACK_DELAY_S", "1.5")
    assert Settings.from_env().callback_delay_s == 1.5


# --- refunds ------------------------------------------------------------------------------------------------

def signed_refund(bank, body, secret=SECRET, timestamp=None):
    from motcua_sims.common import sign

    raw = json.dumps(body).encode()
    return bank.post("/v1/refunds", data=raw, headers={"Content-Type": "application/json",
                                                        "X-Motcua-Signature": sign(secret, raw, timestamp)})


REFUND = {"refund_id": "RF-PAY2025000123", "reference": "PAY2025000123", "amount_vnd": 150_000,
          "reason": "Hồ sơ không được tiếp nhận"}


def test_a_signed_refund_of_a_paid_reference_is_completed(bank, vietqr):
    bank.post("/v1/pay", json={"qr_payload": vietqr()})
    response = signed_refund(bank, REFUND)
    assert response.status_code == 200
    refund = response.get_json()
    assert (refund["status"], refund["amount_vnd"], refund["refund_id"]) == ("completed", 150_000, "RF-PAY2025000123")
    assert refund["bank_refund_txn_id"].startswith("RFSIM")
    assert bank.get("/v1/refunds/RF-PAY2025000123").get_json() == refund
    status = bank.get("/v1/transactions/PAY2025000123").get_json()
    assert (status["status"], status["refunded_vnd"]) == ("paid", 150_000)


def test_the_same_refund_sent_again_is_one_refund_and_another_body_is_a_409(bank, vietqr):
    bank.post("/v1/pay", json={"qr_payload": vietqr()})
    first = signed_refund(bank, REFUND).get_json()
    assert signed_refund(bank, REFUND).get_json() == first
    assert signed_refund(bank, {**REFUND, "amount_vnd": 1}).status_code == 409
    assert bank.get("/v1/transactions/PAY2025000123").get_json()["refunded_vnd"] == 150_000


@pytest.mark.parametrize("kwargs", [{"secret": "wrong"}, {"timestamp": 1}])
def test_an_unsigned_or_stale_refund_is_a_401(bank, vietqr, kwargs):
    bank.post("/v1/pay", json={"qr_payload": vietqr()})
    assert signed_refund(bank, REFUND, **kwargs).status_code == 401
    assert bank.post("/v1/refunds", json=REFUND).status_code == 401
    assert bank.get("/v1/refunds/RF-PAY2025000123").status_code == 404


def test_refunds_of_unpaid_references_or_beyond_the_paid_amount_are_refused(bank, vietqr):
    assert signed_refund(bank, REFUND).status_code == 409  # nothing paid yet
    bank.post("/v1/pay", json={"qr_payload": vietqr(), "outcome": "failed"})
    assert signed_refund(bank, REFUND).status_code == 409  # a failed attempt is not money held
    bank.post("/v1/pay", json={"qr_payload": vietqr()})
    too_much = signed_refund(bank, {**REFUND, "amount_vnd": 150_001})
    assert too_much.status_code == 422 and "amount_vnd" in too_much.get_json()["errors"]["json"]


@pytest.mark.parametrize("field, value", [
    ("refund_id", ""), ("refund_id", "x" * 41), ("reference", None), ("amount_vnd", 1.5), ("amount_vnd", "10"),
    ("amount_vnd", 0), ("reason", " "),
])
def test_a_malformed_refund_is_a_422_naming_the_field(bank, vietqr, field, value):
    response = signed_refund(bank, {**REFUND, field: value})
    assert response.status_code == 422 and field in response.get_json()["errors"]["json"]
