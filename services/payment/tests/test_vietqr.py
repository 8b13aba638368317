"""VietQR payloads: the four reference vectors built and parsed exactly, CRC and field limits."""
import pytest

from payment import vietqr
from payment.vietqr import VietQR

# DOMAIN.md's vectors, whose CRCs were checked independently, with the fields each one carries.
VECTORS = [
    ("00020101021238540010A00000072701240006970436011010175956000208QRIBFTTA530370454061800005802VN"
     "62230819thanh toan don hang630470FA",
     VietQR(bin="970436", account="1017595600", amount_vnd=180000, purpose="thanh toan don hang")),
    ("00020101021238530010A0000007270123000697041601092245284790208QRIBFTTA53037045405100005802VN"
     "62340107NPS68690819TRANSFER TO SOMEONE6304AC13",
     VietQR(bin="970416", account="224528479", amount_vnd=10000, bill_number="NPS6869", purpose="TRANSFER TO SOMEONE")),
    ("00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN63049E6F",
     VietQR(bin="970403", account="0011012345678")),
    ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
     "62170813ung ho lu lut6304C15C",
     VietQR(bin="970415", account="0011001932418", amount_vnd=120000, purpose="ung ho lu lut")),
]


def test_crc_matches_the_ccitt_false_check_value():
    assert vietqr.crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("payload, fields", VECTORS)
def test_each_reference_vector_is_built_exactly_from_its_fields(payload, fields):
    assert vietqr.encode(fields) == payload


@pytest.mark.parametrize("payload, fields", VECTORS)
def test_each_reference_vector_parses_back_to_its_fields(payload, fields):
    assert vietqr.decode(payload) == fields


def test_static_code_has_no_amount_and_dynamic_code_has_one():
    assert not vietqr.decode(VECTORS[2][0]).dynamic
    assert vietqr.decode(VECTORS[0][0]).dynamic


def test_a_payload_with_a_changed_amount_fails_its_crc():
    tampered = VECTORS[0][0].replace("5406180000", "5406100000")
    with pytest.raises(vietqr.InvalidPayload, match="CRC"):
        vietqr.decode(tampered)


def test_a_truncated_payload_is_rejected():
    with pytest.raises(vietqr.InvalidPayload):
        vietqr.decode(VECTORS[0][0][:40])


def test_additional_data_longer_than_25_characters_is_refused():
    with pytest.raises(ValueError, match="62.08"):
        vietqr.encode(VietQR(bin="970436", account="1", amount_vnd=1, purpose="x" * 26))


def test_non_ascii_values_are_refused_because_lengths_count_bytes():
    with pytest.raises(ValueError, match="ASCII"):
        vietqr.encode(VietQR(bin="970436", account="1", amount_vnd=1, purpose="Lệ phí"))


def test_purpose_text_is_folded_to_ascii_and_cut_at_a_word_within_25_characters():
    assert vietqr.fit_text("Lệ phí hồ sơ MCK7QX2MZP4A") == "Le phi ho so MCK7QX2MZP4A"
    assert vietqr.fit_text("Đăng ký khai sinh cho con thứ hai") == "Dang ky khai sinh cho con"
    assert vietqr.fit_text("Lệ phí hồ sơ 000.00.06.H56-261124-0001") == "Le phi ho so"
    assert len(vietqr.fit_text("x" * 40)) == 25
