"""Filing a dossier one question per page: validation as GOV.UK does it, uploads, the quote, check answers,
and one dossier however many times the last page is submitted."""
from __future__ import annotations

import io
import re

import pytest

from fake_api import PDF
from support import csrf

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _field_errors(answer) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).replace("Lỗi:", "").strip()
            for m in re.findall(r'class="govuk-error-message">(.*?)</p>', _text(answer), re.S)]


@pytest.fixture
def filing(client):
    """A client that started filing "Đăng ký khai sinh" and the form's CSRF token."""
    client.get("/thu-tuc/1.001193.H56/nop-ho-so")
    return client, csrf(client.get("/nop-ho-so/nguoi-nop"))


def _answer_up_to_documents(client, token, **details):
    assert client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token, "type": "citizen"}).status_code == 302
    data = {"full_name": "Nguyễn Thị Lan", "id_number": "001099012345", "address": "Số 1 Hai Bà Trưng, Phúc Yên"}
    data.update(details)
    assert client.post("/nop-ho-so/thong-tin", data={"csrf_token": token, **data}).status_code == 302
    assert client.post("/nop-ho-so/lien-he", data={"csrf_token": token, "phone": "0912 345 678"}).status_code == 302


def _upload_required(client, token):
    answer = client.post("/nop-ho-so/giay-to", content_type="multipart/form-data", data={
        "csrf_token": token, "doc-TK_KHAI_SINH": (io.BytesIO(PDF), "to-khai.pdf"),
        "doc-GIAY_CHUNG_SINH": (io.BytesIO(PNG), "giay-chung-sinh.png")})
    assert answer.status_code == 302, _field_errors(answer)


def _finish(client, token, method="counter"):
    answer = client.post("/nop-ho-so/nhan-ket-qua", data={"csrf_token": token, "method": method})
    assert answer.headers["Location"].endswith("/dia-chi" if method == "post" else "/thong-bao")
    if method == "post":
        assert client.post("/nop-ho-so/dia-chi", data={"csrf_token": token, "street": "Số 1 Hai Bà Trưng",
                                                        "commune": "Phúc Yên", "province": "Phú Thọ"}).status_code == 302
    assert client.post("/nop-ho-so/thong-bao", data={"csrf_token": token, "channels": ["sms"]}).status_code == 302


def test_the_procedure_page_shows_the_opencps_sections_and_a_start_button(client):
    page = _text(client.get("/thu-tuc/1.001193.H56"))
    for section in ("Trình tự thực hiện", "Cách thức thực hiện", "Thành phần hồ sơ", "Thời gian giải quyết",
                    "Phí, lệ phí", "Kết quả"):
        assert f">{section}</h2>" in page
    assert "Bắt đầu nộp hồ sơ" in page and 'src="/thu-tuc/1.001193.H56/qr.png"' in page
    assert "Giấy chứng sinh" in page and "1 ngày làm việc" in page


def test_the_procedure_page_names_the_procedures_field_when_intake_gives_one(client):
    assert "Lĩnh vực: <strong>Hộ tịch</strong>" in _text(client.get("/thu-tuc/1.001193.H56"))
    assert "Lĩnh vực" not in _text(client.get("/thu-tuc/2.000908.H56"))  # null: nothing shown
    assert "Lĩnh vực" not in _text(client.get("/thu-tuc/1.001612.H56"))  # an intake from before the field


def test_procedure_search_works_without_diacritics_and_by_agency_and_level(client):
    assert "Đăng ký khai sinh" in _text(client.get("/?q=khai+sinh"))
    assert "Đăng ký khai sinh" in _text(client.get("/?q=dang+ky+khai"))
    by_agency = _text(client.get("/?co_quan=000.00.21.H56"))
    assert "Cấp phiếu lý lịch tư pháp" in by_agency and "Đăng ký khai sinh" not in by_agency
    partial = _text(client.get("/?muc_do=partial_online"))
    assert "Tìm thấy 1 thủ tục" in partial
    assert "Không có thủ tục nào phù hợp" in _text(client.get("/?q=zzzz"))


def test_the_qr_code_of_a_procedure_is_proxied_from_intake_as_a_png(client):
    answer = client.get("/thu-tuc/1.001193.H56/qr.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.data.startswith(b"\x89PNG")
    assert client.get("/thu-tuc/0.000000.X/qr.png").status_code == 404


def test_a_question_left_unanswered_re_renders_with_the_error_prefix_summary_and_message(filing):
    client, token = filing
    answer = client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token})
    page = _text(answer)
    assert answer.status_code == 200
    assert re.search(r"<title>\s*Lỗi: Bạn nộp hồ sơ với tư cách nào\?", page)
    assert 'class="govuk-error-summary' in page and 'href="#type"' in page
    assert _field_errors(answer) == ["Chọn bạn nộp hồ sơ với tư cách nào"]
    assert "novalidate" in page


def test_details_keep_what_was_typed_and_each_field_says_what_is_wrong(filing):
    client, token = filing
    client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token, "type": "citizen"})
    answer = client.post("/nop-ho-so/thong-tin", data={"csrf_token": token, "full_name": "Lê Văn Ánh",
                                                        "id_number": "12345", "address": ""})
    page = _text(answer)
    assert _field_errors(answer) == ["Số căn cước công dân phải gồm đúng 12 chữ số", "Nhập địa chỉ thường trú hoặc trụ sở"]
    assert 'value="Lê Văn Ánh"' in page and 'value="12345"' in page
    assert 'inputmode="numeric"' in page
    assert page.index('href="#id_number"') < page.index('href="#address"')


def test_spaces_dots_and_hyphens_in_an_id_number_are_ignored(filing):
    client, token = filing
    _answer_up_to_documents(client, token, id_number="001.099 012-345")
    with client.session_transaction() as session:
        assert session["wizard"]["answers"]["id_number"] == "001099012345"


def test_a_phone_or_an_email_is_needed_and_each_must_be_well_formed(filing):
    client, token = filing
    client.post("/nop-ho-so/nguoi-nop", data={"csrf_token": token, "type": "citizen"})
    client.post("/nop-ho-so/thong-tin", data={"csrf_token": token, "full_name": "A", "id_number": "001099012345",
                                               "address": "B"})
    none = client.post("/nop-ho-so/lien-he", data={"csrf_token": token})
    assert _field_errors(none) == ["Nhập số điện thoại di động hoặc email để nhận thông báo"]
    bad = client.post("/nop-ho-so/lien-he", data={"csrf_token": token, "phone": "12", "email": "lan@"})
    assert _field_errors(bad) == ["Nhập số điện thoại di động đúng định dạng, ví dụ 0912 345 678",
                                  "Nhập địa chỉ email đúng định dạng, ví dụ ten@example.com"]


def test_document_uploads_use_the_gov_uk_file_errors_and_keep_files_already_sent(filing, world):
    client, token = filing
    _answer_up_to_documents(client, token)
    answer = client.post("/nop-ho-so/giay-to", content_type="multipart/form-data", data={
        "csrf_token": token, "doc-TK_KHAI_SINH": (io.BytesIO(PDF), "to-khai.pdf"),
        "doc-GIAY_CHUNG_SINH": (io.BytesIO(b"plain text"), "giay.pdf"),
        "doc-VB_UY_QUYEN": (io.BytesIO(b""), "empty.pdf")})
    assert _field_errors(answer) == ["Tệp đã chọn phải là PDF, JPG hoặc PNG", "Tệp đã chọn bị trống"]
    assert "Đã tải lên: to-khai.pdf" in _text(answer)
    assert len(world.uploads) == 1  # the good file reached intake once
    missing = client.post("/nop-ho-so/giay-to", content_type="multipart/form-data", data={"csrf_token": token})
    assert _field_errors(missing) == ["Chọn một tệp cho “Giấy chứng sinh”"]


def test_a_file_over_10_mb_is_refused_before_it_reaches_intake(filing, world):
    client, token = filing
    _answer_up_to_documents(client, token)
    big = PDF + b"0" * (10 * 1024 * 1024)
    answer = client.post("/nop-ho-so/giay-to", content_type="multipart/form-data", data={
        "csrf_token": token, "doc-TK_KHAI_SINH": (io.BytesIO(big), "big.pdf")})
    assert "Tệp đã chọn phải nhỏ hơn 10 MB" in _field_errors(answer)
    assert world.uploads == {}


def test_delivery_by_post_asks_for_the_address_and_shows_the_postal_quote_on_check_answers(filing):
    client, token = filing
    _answer_up_to_documents(client, token)
    _upload_required(client, token)
    assert _field_errors(client.post("/nop-ho-so/nhan-ket-qua", data={"csrf_token": token})) == [
        "Chọn cách nhận kết quả"]
    assert client.get("/nop-ho-so/dia-chi").headers["Location"].endswith("/nhan-ket-qua")  # counter: no address
    client.post("/nop-ho-so/nhan-ket-qua", data={"csrf_token": token, "method": "post"})
    answer = client.post("/nop-ho-so/dia-chi", data={"csrf_token": token})
    assert _field_errors(answer) == ["Nhập số nhà, tên đường, thôn, xóm", "Nhập xã, phường", "Nhập tỉnh, thành phố"]
    assert client.get("/nop-ho-so/thong-bao").headers["Location"].endswith("/nguoi-nop")  # no address yet
    unknown = client.post("/nop-ho-so/dia-chi", data={"csrf_token": token, "street": "1",
                                                       "commune": "X", "province": "Atlantis"})
    assert _field_errors(unknown) == ["Không tìm thấy tỉnh, thành phố này; nhập tên một trong 34 tỉnh, thành phố"]
    _finish(client, token, method="post")
    page = _text(client.get("/nop-ho-so/kiem-tra"))
    assert "Phí chuyển phát kết quả" in page and "10.000 đồng" in page
    assert "Số 1 Hai Bà Trưng, Phúc Yên, Phú Thọ" in page


def test_a_notification_channel_needs_the_contact_it_sends_to(filing):
    client, token = filing
    _answer_up_to_documents(client, token)
    _upload_required(client, token)
    client.post("/nop-ho-so/nhan-ket-qua", data={"csrf_token": token, "method": "counter"})
    answer = client.post("/nop-ho-so/thong-bao", data={"csrf_token": token, "channels": ["email"]})
    assert _field_errors(answer) == ["Bạn chưa nhập email; chọn SMS hoặc Zalo, hoặc quay lại nhập email"]
    assert _field_errors(client.post("/nop-ho-so/thong-bao", data={"csrf_token": token})) == [
        "Chọn ít nhất một cách nhận thông báo"]


def test_a_change_from_check_answers_returns_to_check_answers(filing):
    client, token = filing
    _answer_up_to_documents(client, token)
    _upload_required(client, token)
    _finish(client, token)
    page = _text(client.get("/nop-ho-so/thong-tin?sua=1"))
    assert 'href="/nop-ho-so/kiem-tra"' in page  # the back link
    answer = client.post("/nop-ho-so/thong-tin?sua=1", data={"csrf_token": token, "sua": "1", "full_name": "Lan Anh",
                                                              "id_number": "001099012345", "address": "Phúc Yên"})
    assert answer.headers["Location"].endswith("/nop-ho-so/kiem-tra")
    assert "Lan Anh" in _text(client.get("/nop-ho-so/kiem-tra"))


def test_a_later_question_cannot_be_reached_before_the_earlier_ones_are_answered(filing):
    client, _ = filing
    assert client.get("/nop-ho-so/kiem-tra").headers["Location"].endswith("/nop-ho-so/nguoi-nop")
    assert client.get("/nop-ho-so/khong-co").status_code == 404


def test_submitting_twice_files_one_dossier_and_both_land_on_its_confirmation(filing, world):
    client, token = filing
    _answer_up_to_documents(client, token)
    _upload_required(client, token)
    _finish(client, token)
    with client.session_transaction() as session:
        key = session["wizard"]["key"]
    first = client.post("/nop-ho-so/kiem-tra", data={"csrf_token": token})
    second = client.post("/nop-ho-so/kiem-tra", data={"csrf_token": token})
    assert world.filings == 1
    assert first.headers["Location"] == second.headers["Location"]
    code = next(iter(world.dossiers))
    assert first.headers["Location"].endswith(f"/ho-so/{code}/xac-nhan")
    assert key in world.idempotency
    page = _text(client.get(first.headers["Location"]))
    assert "Đã gửi hồ sơ" in page and f"<strong>{code}</strong>" in page and "Điều gì xảy ra tiếp theo" in page
    assert "&lt;" not in page


def test_a_retry_after_a_lost_answer_sends_the_same_idempotency_key(filing, world):
    """The wizard keeps its key until intake answers: re-sending the same body yields the same dossier."""
    client, token = filing
    _answer_up_to_documents(client, token)
    _upload_required(client, token)
    _finish(client, token)
    client.post("/nop-ho-so/kiem-tra", data={"csrf_token": token})
    with client.session_transaction() as session:  # as if the first answer never reached the browser
        session["wizard"] = session["wizard"] | {"submitted": None}
    again = client.post("/nop-ho-so/kiem-tra", data={"csrf_token": token})
    assert world.posts == 2 and world.filings == 1  # sent again, with the same key, so intake filed nothing new
    assert again.headers["Location"].endswith(f"/ho-so/{next(iter(world.dossiers))}/xac-nhan")


def test_a_refusal_by_intake_shows_on_check_answers_beside_the_answer_with_a_change_link(filing, world):
    client, token = filing
    _answer_up_to_documents(client, token, id_number="000000000000")
    _upload_required(client, token)
    _finish(client, token)
    answer = client.post("/nop-ho-so/kiem-tra", data={"csrf_token": token})
    page = _text(answer)
    assert answer.status_code == 200 and world.filings == 0
    assert "<title>Lỗi: " in page.replace("\n", "")
    assert "Số giấy tờ: Số căn cước công dân không hợp lệ" in page
    assert "(invalid citizen ID)" not in page  # no raw API text
    assert 'href="#answer-thong-tin"' in page


def test_the_confirmation_page_of_someone_else_s_dossier_sends_to_the_tracking_page(client, world):
    d = world.add()
    answer = client.get(f"/ho-so/{d['code']}/xac-nhan")
    assert answer.headers["Location"].endswith(f"/ho-so/{d['code']}")


def test_the_question_is_the_page_heading_with_its_caption_rendered_not_escaped(filing):
    client, _ = filing
    page = _text(client.get("/nop-ho-so/nguoi-nop"))
    assert '<h1 class="govuk-fieldset__heading">' in page
    assert '<span class="govuk-caption-l">Bước 1/8 · Đăng ký khai sinh</span>Bạn nộp hồ sơ với tư cách nào?' in page
    assert "&lt;span" not in page
