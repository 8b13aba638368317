"""Personal data in logs: every field of a line is scrubbed, and database errors carry no bound values."""
from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from servicekit.db import Database
from servicekit.logs import JsonFormatter, scrub

ID_NUMBER = "001190012345"
EMAIL = "dang.anh+hs@example.vn"


def line(message: str = "", *args, exc_info=None, **extra) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter("kittest").format(record))


@pytest.mark.parametrize("written", [
    "0912345678", "0912 345 678", "091.234.5678", "091-234-5678", "+84 912 345 678", "84912345678", "+84912345678",
])
def test_phone_numbers_written_with_spaces_dots_or_a_country_code_are_masked(written):
    out = scrub(f"gọi {written} nhé")
    assert out.endswith("678 nhé") and sum(c.isdigit() for c in out) == 3, out


def test_id_numbers_and_tax_codes_are_masked_but_our_own_identifiers_are_not():
    assert scrub(f"cccd {ID_NUMBER}") == "cccd *********345"
    assert scrub("mst 0123456789-001") == "mst **********001"
    for ours in ("000.00.06.H56-261124-0001", "123e4567-e89b-12d3-a456-426614174000", "EB123456789VN",
                 "2026-11-24T02:00:00.000Z", "1.001193.H56"):
        assert scrub(ours) == ours


def test_email_addresses_keep_only_their_domain():
    assert scrub(f"mail {EMAIL}.") == "mail ***@example.vn."


def test_every_field_is_scrubbed_not_only_the_message():
    out = line("filed", phone="0912 345 678", applicant={"id_number": ID_NUMBER, "emails": [EMAIL]},
               to=("84912345678",), note=f"{ID_NUMBER} / {EMAIL}")
    text = json.dumps(out, ensure_ascii=False)
    for secret in (ID_NUMBER, EMAIL, "912345678", "0912 345", "dang.anh"):
        assert secret not in text
    assert out["phone"] == "*******678"
    assert out["applicant"]["emails"] == ["***@example.vn"]


def test_message_arguments_and_exception_text_are_scrubbed():
    try:
        raise ValueError(f"duplicate applicant {ID_NUMBER} <{EMAIL}>")
    except ValueError:
        import sys

        out = line("failed for %s", "091.234.5678", exc_info=sys.exc_info())
    text = json.dumps(out, ensure_ascii=False)
    assert ID_NUMBER not in text and EMAIL not in text and "091.234.5678" not in text
    assert out["message"] == "failed for *******678"


def test_the_kit_own_fields_are_left_alone():
    from servicekit import logs

    token = logs.dossier_code.set("000.00.06.H56-261124-0001")
    try:
        assert line("x")["dossier_code"] == "000.00.06.H56-261124-0001"
    finally:
        logs.dossier_code.reset(token)


def test_a_database_error_never_carries_the_bound_values(db_url):
    db = Database(db_url)
    table = sa.Table("people", sa.MetaData(), sa.Column("id_number", sa.String(20), primary_key=True),
                     sa.Column("email", sa.String(100)))
    table.metadata.create_all(db.engine)
    with db.transaction() as conn:
        conn.execute(table.insert(), {"id_number": ID_NUMBER, "email": EMAIL})
    with pytest.raises(sa.exc.IntegrityError) as caught:
        with db.transaction() as conn:
            conn.execute(table.insert(), {"id_number": ID_NUMBER, "email": "someone@else.vn"})
    assert "someone@else.vn" not in str(caught.value)
    # PostgreSQL quotes the duplicate key in its own message; the log line scrubs it.
    out = line("insert failed", exc_info=(type(caught.value), caught.value, caught.value.__traceback__))
    assert ID_NUMBER not in json.dumps(out) and "someone@else.vn" not in json.dumps(out)
    db.dispose()
