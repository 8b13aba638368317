"""Filing needs no login: limits per client and per phone, no hidden characters, ASCII digits only, and a
name that cannot carry a message of its own into an SMS."""
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicekit.tables import now

from intake.models import dossiers, outbox, rate_limits, uploads


def count(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def limited(settings, db):
    """A test client of an intake with the limits on: 3 filings per client, 2 per phone (and email)."""
    from intake.app import create_app

    app = create_app(replace(settings, filing_max_per_client=3, filing_max_per_phone=2, upload_max_per_client=50))
    return app.test_client()


def with_phone(body, phone, email=None):
    body["applicant"].update(phone=phone, email=email or f"{phone}@example.vn")
    return body


def test_filings_for_one_phone_beyond_the_limit_are_a_429_with_retry_after_and_leave_nothing(
        limited, db, file_dossier, filing_body):
    for _ in range(2):
        assert file_dossier(with_phone(filing_body(), "0912345678", "a@example.vn"), target=limited).status_code == 201
    refused = file_dossier(with_phone(filing_body(), "+84 912 345 678", "b@example.vn"), target=limited)
    assert refused.status_code == 429
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.get_json()["code"] == 429
    assert count(db, dossiers) == count(db, outbox) == 2
    # Another number from the same client still files.
    assert file_dossier(with_phone(filing_body(), "0987654321"), target=limited).status_code == 201


def test_filings_for_one_email_count_like_a_phone(limited, file_dossier, filing_body):
    for phone in ("0912345671", "0912345672"):
        assert file_dossier(with_phone(filing_body(), phone, "Same@Example.vn"), target=limited).status_code == 201
    assert file_dossier(with_phone(filing_body(), "0912345673", "same@example.vn"), target=limited).status_code == 429


def test_filings_from_one_client_beyond_the_limit_are_a_429(limited, db, file_dossier, filing_body):
    phones = ["0912000001", "0912000002", "0912000003", "0912000004"]
    answers = [file_dossier(with_phone(filing_body(), phone), target=limited).status_code for phone in phones]
    assert answers == [201, 201, 201, 429]
    other_client = limited.post("/v1/dossiers", json=with_phone(filing_body(), "0912000005"),
                                headers={"Idempotency-Key": "from-elsewhere"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_client.status_code == 201


def test_a_replay_of_a_filing_is_answered_even_when_the_client_is_at_its_limit(limited, file_dossier, filing_body):
    body = with_phone(filing_body(), "0912000001")
    first = file_dossier(body, key="mine", target=limited)
    for phone in ("0912000002", "0912000003", "0912000004"):
        file_dossier(with_phone(filing_body(), phone), target=limited)
    again = file_dossier(body, key="mine", target=limited)
    assert again.status_code == 201 and again.get_json() == first.get_json()


def test_the_limit_lifts_when_the_window_ends(limited, db, file_dossier, filing_body):
    for _ in range(2):
        file_dossier(with_phone(filing_body(), "0912345678", "x@example.vn"), target=limited)
    assert file_dossier(with_phone(filing_body(), "0912345678", "y@example.vn"), target=limited).status_code == 429
    with db.transaction() as conn:
        conn.execute(rate_limits.update().values(window_started_at=now() - timedelta(hours=1, seconds=1)))
    assert file_dossier(with_phone(filing_body(), "0912345678", "z@example.vn"), target=limited).status_code == 201


def test_uploads_per_client_are_limited_too(settings, db):
    import io

    from intake.app import create_app

    client = create_app(replace(settings, upload_max_per_client=2)).test_client()
    pdf = b"%PDF-1.4\n%%EOF\n"
    answers = [client.post("/v1/uploads", data={"file": (io.BytesIO(pdf), "a.pdf")},
                           content_type="multipart/form-data").status_code for _ in range(3)]
    assert answers == [201, 201, 429]
    assert count(db, uploads) == 2


# ---- hidden characters and digits ---------------------------------------------------------------------------
HIDDEN = {
    "NUL": "\x00", "bell": "\x07", "line feed": "\n", "escape": "\x1b", "delete": "\x7f",
    "right-to-left override": "\u202e", "left-to-right mark": "\u200e", "first strong isolate": "\u2068",
    "zero width space": "\u200b", "byte order mark": "\ufeff", "line separator": "\u2028",
}
TEXT_FIELDS = [("applicant", "full_name"), ("applicant", "address"), ("delivery", "address", "street"),
               ("delivery", "address", "commune"), ("delivery", "address", "province"),
               ("delivery", "address", "recipient_name"), ("procedure_code",)]


# Every hidden character in one field, and the two worst (NUL, right-to-left override) in every text field.
CASES = [(name, ("applicant", "full_name")) for name in HIDDEN] + [
    (name, path) for path in TEXT_FIELDS[1:] for name in ("NUL", "right-to-left override")]


def test_hidden_and_control_characters_are_refused_in_every_text_field(db, file_dossier, filing_body):
    # One database for all the cases: each refusal must leave it as it was.
    for name, path in CASES:
        body = filing_body()
        target = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = "Nguyễn" + HIDDEN[name] + "Văn"
        response = file_dossier(body)
        if name == "NUL":  # the kit's JSON loader refuses it before any field is read (PostgreSQL cannot store it)
            assert response.status_code == 400 and "NUL" in str(response.get_json()["errors"]), (path, response.get_json())
            continue
        assert response.status_code == 422, (name, path, response.get_json())
        errors = response.get_json()["errors"]["json"]
        for part in path:
            assert part in errors, (name, path)
            errors = errors[part]
    assert count(db, dossiers) == count(db, outbox) == 0


@pytest.mark.parametrize("name", ["NUL", "right-to-left override", "zero width space"])
def test_hidden_characters_are_refused_in_lookup_and_the_citizens_free_text(name, client, file_dossier):
    filed = file_dossier().get_json()
    lookup = client.post("/v1/dossiers/lookup", json={"code": filed["code"] + HIDDEN[name], "id_number": "001190012345"})
    withdrawal = client.post(f"/v1/dossiers/{filed['code']}/withdrawal", json={"reason": "Nộp" + HIDDEN[name] + "nhầm"},
                             headers={"Authorization": f"Bearer {filed['access_token']}"})
    if name == "NUL":  # refused by the kit's JSON loader
        assert lookup.status_code == withdrawal.status_code == 400
        return
    assert lookup.status_code == 422
    assert withdrawal.status_code == 422 and "reason" in withdrawal.get_json()["errors"]["json"]


def test_a_line_break_is_allowed_in_free_text_only(client, file_dossier):
    filed = file_dossier().get_json()
    response = client.post(f"/v1/dossiers/{filed['code']}/withdrawal", json={"reason": "Dòng một\r\nDòng hai"},
                           headers={"Authorization": f"Bearer {filed['access_token']}"})
    assert response.status_code == 202 and response.get_json()["reason"] == "Dòng một\nDòng hai"


def test_decomposed_vietnamese_is_stored_composed(db, file_dossier, filing_body):
    body = filing_body()
    body["applicant"]["full_name"] = "Nguye\u0302\u0303n Va\u0306n A"  # NFD, as some keyboards send it
    assert file_dossier(body).status_code == 201
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(dossiers.c.applicant_name)).scalar_one() == "Nguyễn Văn A"


NON_ASCII_DIGITS = [
    (("applicant", "id_number"), "００１１９００１２３４５"),  # fullwidth digits
    (("applicant", "id_number"), "٠٠١١٩٠٠١٢٣٤٥"),  # Arabic-Indic digits
    (("applicant", "phone"), "０９１２３４５６７８"),
    (("applicant", "phone"), "09１2345678"),
    (("delivery", "address", "phone"), "０９１２３４５６７８"),
]


def test_only_ascii_digits_are_taken_in_id_numbers_and_phones(db, file_dossier, filing_body):
    for path, value in NON_ASCII_DIGITS:
        body = filing_body()
        target = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        response = file_dossier(body)
        assert response.status_code == 422, (value, response.get_json())
        errors = response.get_json()["errors"]["json"]
        for part in path:
            errors = errors[part]
    assert count(db, dossiers) == 0


def test_a_business_tax_code_in_fullwidth_digits_is_refused(file_dossier, filing_body):
    body = filing_body()
    body["applicant"].update(type="business", full_name="Công ty TNHH Ánh Dương", id_number="０１２３４５６７８９")
    assert file_dossier(body).status_code == 422


# ---- what a name can carry into an SMS ---------------------------------------------------------------------
def test_a_persons_name_holds_letters_spaces_and_few_signs_only(file_dossier, filing_body):
    for name in ("Goi ngay 0900123456", "Nhan qua tai http://x.vn", "An (trung thuong)", "Bình: chuyển khoản", "A_B",
                 "Nguyễn Văn A!"):
        body = filing_body()
        body["applicant"]["full_name"] = name
        response = file_dossier(body)
        assert response.status_code == 422 and "full_name" in response.get_json()["errors"]["json"]["applicant"], name


def test_real_vietnamese_names_are_taken(file_dossier, filing_body):
    for name in ("Đặng Thị Ngọc Ánh", "Nguyễn Văn A", "H'Hen Niê", "Trần Thị Lan-Anh", "Lê Văn B."):
        body = filing_body()
        body["applicant"]["full_name"] = name
        assert file_dossier(body).status_code == 201, name


def test_a_business_name_may_hold_digits_but_no_link(file_dossier, filing_body):
    body = filing_body()
    body["applicant"].update(type="business", id_number="0123456789", full_name="Công ty TNHH 3A & Cộng sự (Hà Nội)")
    assert file_dossier(body).status_code == 201
    body = filing_body()
    body["applicant"].update(type="business", id_number="0123456789", full_name="Công ty http://spam.vn")
    assert file_dossier(body).status_code == 422
