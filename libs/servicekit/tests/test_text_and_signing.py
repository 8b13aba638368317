from servicekit.signing import BadSignature, sign, verify
from servicekit.text import fold_ascii, normalize_phone
from servicekit.logs import mask_digits, scrub
import pytest


def test_vietnamese_name_folds_to_plain_ascii():
    assert fold_ascii("Đặng Thị Ngọc Ánh") == "Dang Thi Ngoc Anh"


def test_stacked_vowels_and_d_never_become_question_marks():
    folded = fold_ascii("Hồ sơ đã được tiếp nhận. Ngày hẹn trả: ấ ậ ữ ỹ Ư Ơ")
    assert "?" not in folded
    assert folded == "Ho so da duoc tiep nhan. Ngay hen tra: a a u y U O"


@pytest.mark.parametrize("raw,expected", [
    ("0912345678", "84912345678"), ("+84 912 345 678", "84912345678"), ("84912345678", "84912345678"),
    ("012345", None), ("0212345678", None), ("abc", None),
])
def test_phone_numbers_are_normalised_to_84_form(raw, expected):
    assert normalize_phone(raw) == expected


def test_signature_round_trips_and_accepts_either_rotating_key():
    body = b'{"a":1}'
    header = sign(body, "new-key")
    verify(header, body, ["old-key", "new-key"])


@pytest.mark.parametrize("header", [None, "", "t=1", "garbage"])
def test_missing_or_malformed_signature_is_rejected(header):
    with pytest.raises(BadSignature):
        verify(header, b"{}", ["k"])


def test_signature_too_old_or_over_another_body_is_rejected():
    old = sign(b"{}", "k", timestamp=1_000_000)
    with pytest.raises(BadSignature):
        verify(old, b"{}", ["k"])
    with pytest.raises(BadSignature):
        verify(sign(b"{}", "k"), b"{ }", ["k"])


def test_phone_and_id_numbers_are_masked_in_log_text():
    assert mask_digits("084123456789") == "*********789"
    assert scrub("sent to 84912345678 ok") == "sent to ********678 ok"


def test_doorbell_rings_the_relay_by_datagram_and_looks_its_host_up_once():
    import socket

    from servicekit.db import Doorbell

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2)
    bell = Doorbell(f"localhost:{listener.getsockname()[1]}")
    bell.ring()
    bell.ring()
    assert listener.recv(8) == b"!" and listener.recv(8) == b"!"
    assert bell._resolved == ("127.0.0.1", listener.getsockname()[1])
    listener.close()


def test_doorbell_with_an_unresolvable_host_stays_quiet_and_never_raises():
    from servicekit.db import Doorbell

    bell = Doorbell("no-such-worker.invalid:9001")
    bell.ring()
    bell.ring()
    assert bell._resolved is None


@pytest.mark.parametrize("given", ["t=1,v1=ạbc", "t=٣,v1=abc", "t=1, v1=\udcff"])
def test_a_non_ascii_signature_header_is_a_bad_signature_never_a_type_error(given):
    with pytest.raises(BadSignature):
        verify(given, b"{}", ["secret"], now=1)


def test_one_kit_helper_checks_signature_then_json_then_fields_of_a_webhook():
    import json

    from flask import Flask
    from marshmallow import Schema, fields

    from servicekit.web import DomainError, error_response
    from servicekit.webhooks import SIGNATURE_HEADER, signed_json

    class Body(Schema):
        event_id = fields.String(required=True)

    app = Flask("t")
    app.errorhandler(DomainError)(lambda exc: error_response(exc.status, exc.message, exc.errors))
    app.post("/hook")(lambda: signed_json(["k"], Body()))
    client = app.test_client()

    def post(body: bytes, header=None):
        return client.post("/hook", data=body, headers={SIGNATURE_HEADER: header or sign(body, "k")},
                           content_type="application/json")

    assert post(b'{"event_id": "e1"}').get_json() == {"event_id": "e1"}
    assert post(b'{"event_id": "e1"}', header=sign(b"{}", "k")).status_code == 401
    assert post(b'{"event_id": "e1"}', header="t=1,v1=\u1ea1").status_code == 401
    assert post(b"not json").status_code == 400
    assert post(json.dumps([1]).encode()).status_code == 400
    bad = post(b'{"other": 1}')
    assert bad.status_code == 422 and "event_id" in bad.get_json()["errors"]["json"]


def test_a_phone_number_in_fullwidth_digits_is_not_a_phone_number():
    assert normalize_phone("０９１２３４５６７８") is None
    assert normalize_phone("091234567８") is None


def test_a_signed_link_verifies_until_it_expires_and_only_for_its_subject():
    from servicekit.signing import sign_link, verify_link

    sig = sign_link("abc", 1_000, "s" * 16)
    verify_link("abc", "1000", sig, "s" * 16, now=999)
    for subject, expires, given, secret, now in (
            ("abc", "1000", sig, "s" * 16, 1_001),       # expired
            ("abd", "1000", sig, "s" * 16, 999),         # another file
            ("abc", "2000", sig, "s" * 16, 999),         # expiry moved
            ("abc", "1000", sig, "t" * 16, 999),         # another secret
            ("abc", "1000", None, "s" * 16, 999),        # no signature
            ("abc", "soon", sig, "s" * 16, 999),         # malformed expiry
            ("abc", "1000", "é", "s" * 16, 999)):        # non-ASCII signature
        with pytest.raises(BadSignature):
            verify_link(subject, expires, given, secret, now=now)
