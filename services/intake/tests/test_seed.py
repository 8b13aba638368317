"""Reference data: the shipped catalogue is valid, realistic, and loads idempotently."""
import json
import re

import sqlalchemy as sa

from motcua_sims import dvcqg as sim

from intake.models import agencies, procedures
from intake.seed import DATA_FILE, load_reference_data, seed


def catalogue(db):
    with db.transaction(readonly=True) as conn:
        return (conn.execute(sa.select(agencies).order_by(agencies.c.code)).all(),
                conn.execute(sa.select(procedures).order_by(procedures.c.code)).all())


def test_seed_loads_at_least_20_procedures_from_4_agencies_at_both_levels(db):
    agency_rows, procedure_rows = catalogue(db)
    assert len(procedure_rows) >= 20
    assert len({row.agency_code for row in procedure_rows}) >= 4 and len(agency_rows) >= 4
    assert {row.level for row in procedure_rows} == {"full_online", "partial_online"}
    assert {row.fee_mode for row in procedure_rows} == {"before", "after", "none"}
    assert any("post" in row.delivery_methods for row in procedure_rows)
    assert any(row.delivery_methods == ["counter"] for row in procedure_rows)


def test_seed_run_again_changes_nothing(db):
    before = catalogue(db)
    counts = seed(db)
    after = catalogue(db)
    assert counts == {"agencies": len(before[0]), "procedures": len(before[1])}
    strip = lambda rows: [tuple(v for k, v in row._mapping.items() if k != "updated_at") for row in rows]  # noqa: E731
    assert strip(before[0]) == strip(after[0]) and strip(before[1]) == strip(after[1])


def test_seed_updates_a_changed_procedure_in_place(db, tmp_path):
    data = json.load(open(DATA_FILE, encoding="utf-8"))
    data["procedures"][0]["fee_vnd"], data["procedures"][0]["fee_mode"] = 5000, "before"
    changed = tmp_path / "procedures.json"
    changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    seed(db, str(changed))
    rows = {row.code: row for row in catalogue(db)[1]}
    assert len(rows) == len(data["procedures"])
    assert (rows[data["procedures"][0]["code"]].fee_vnd, rows[data["procedures"][0]["code"]].fee_mode) == (5000, "before")


def test_shipped_catalogue_uses_national_code_forms_and_vietnamese_names():
    data = load_reference_data()
    codes = {p["code"] for p in data["procedures"]}
    assert {"1.001193.H56", "1.000894.H56", "2.000488.H56", "1.001612.H56", "1.012753.H56", "1.002804.H56"} <= codes
    for agency in data["agencies"]:
        assert re.match(r"^\d{3}\.\d{2}\.\d{2}\.H56$", agency["code"])
    for proc in data["procedures"]:
        assert any(ch in proc["name"] for ch in "ăâđêôơưáàảãạ"), proc["name"]
        assert all(doc["name"] for doc in proc["documents"]) and any(doc["required"] for doc in proc["documents"])


def test_seed_gives_every_procedure_its_field_as_the_national_catalogue_names_it(db):
    # The same MALINHVUC / TENLINHVUC as the DVCQG simulator's catalogue: a seeded suite and a synced one agree.
    national = {item["MATTHC"]: item["LINHVUCTHUCHIEN"][0] for item in
                json.loads(sim.CATALOGUE_FILE.read_text(encoding="utf-8"))["procedures"]}
    rows = catalogue(db)[1]
    assert rows and all(row.field_code and row.field_name for row in rows)
    assert {row.code: (row.field_code, row.field_name) for row in rows} == {
        code: (field["MALINHVUC"], field["TENLINHVUC"]) for code, field in national.items()}
    birth = next(row for row in rows if row.code == "1.001193.H56")
    assert (birth.field_code, birth.field_name) == ("HO_TICH", "Hộ tịch")


def test_a_seed_file_without_fields_still_loads_with_the_field_left_null(db, tmp_path):
    data = json.load(open(DATA_FILE, encoding="utf-8"))
    del data["procedures"][0]["field"]
    plain = tmp_path / "procedures.json"
    plain.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    seed(db, str(plain))
    row = next(row for row in catalogue(db)[1] if row.code == data["procedures"][0]["code"])
    assert (row.field_code, row.field_name) == (None, None)


def test_seed_search_column_is_folded_to_ascii(db):
    row = next(row for row in catalogue(db)[1] if row.code == "1.001193.H56")
    assert "dang ky khai sinh" in row.search_text and "phuc yen" in row.search_text
