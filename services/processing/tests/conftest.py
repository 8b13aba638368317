"""Processing tests run on a migrated database of their own (SQLite, and PostgreSQL when reachable)."""

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from processing.config import Settings
from processing.manage import MIGRATIONS


@pytest.fixture
def settings(db_url, tmp_path):
    kit = kit_settings_for_tests("processing", db_url)
    return Settings(kit=kit, files_dir=str(tmp_path / "files"), max_result_bytes=64 * 1024)


@pytest.fixture
def db(settings):
    database = migrated_database(settings.kit.database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def client(settings, db):
    from processing.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app.test_client()


def _dossier_submitted(code="000.00.06.H56-261124-0001", agency="000.00.06.H56", **overrides):
    data = {
        "code": code,
        "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "processing_days": 3, "fee_vnd": 0},
        "agency": {"code": agency, "name": "UBND phường Phúc Yên"},
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "phone": "84912345678"},
        "delivery": {"method": "counter"},
        "channel": "online",
        "submitted_at": "2026-11-24T02:00:00.000Z",
    }
    data.update(overrides)
    return data


@pytest.fixture
def dossier_submitted():
    """Factory for dossier.submitted.v1 payloads as intake publishes them."""
    return _dossier_submitted


AGENCY = "000.00.06.H56"
_counter = {"n": 0}


def create_case(db, *, status="submitted", agency=AGENCY, code=None, **columns):
    """A case straight in the table, in any status (the workflow tests start from every state)."""
    import json
    from datetime import datetime, timezone

    from processing import queries

    _counter["n"] += 1
    code = code or f"{agency}-261124-{_counter['n']:04d}"
    moment = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    values = dict(
        code=code, procedure_code="1.000948.H38", procedure_name="Đăng ký khai sinh", agency_code=agency,
        applicant_name="Đặng Thị Ngọc Ánh", applicant_type="citizen", channel="online", delivery_method="counter",
        processing_days=3, fee_vnd=0, fee_mode="none", status=status, submitted_at=moment, created_at=moment,
        updated_at=moment,
        procedure_documents=json.dumps([{"code": "GKS", "name": "Giấy chứng sinh", "required": True},
                                        {"code": "CCCD", "name": "Căn cước công dân", "required": True}]),
    )
    values.update(columns)
    with db.transaction() as conn:
        queries.insert_case(conn, **values)
    return code


@pytest.fixture
def make_case(db):
    return lambda **kw: create_case(db, **kw)


def officer_headers(settings, role="clerk", sub=None, agency=AGENCY):
    from servicekit.auth import issue_token

    token = issue_token(settings.kit, sub=sub or f"{role}-1", role=role, agency=agency)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers(settings):
    return lambda role="clerk", sub=None, agency=AGENCY: officer_headers(settings, role, sub, agency)


def published(db, code=None):
    """[(type, data)] in the outbox, oldest first (optionally of one dossier)."""
    import json

    import sqlalchemy as sa

    from processing.models import outbox

    with db.transaction(readonly=True) as conn:
        query = sa.select(outbox.c.type, outbox.c.body, outbox.c.subject).order_by(outbox.c.id)
        rows = conn.execute(query).all()
    return [(r.type, json.loads(r.body)["data"]) for r in rows if code is None or r.subject == code]


def audit_of(db, code):
    import sqlalchemy as sa

    from processing.models import audit_entries, cases

    with db.transaction(readonly=True) as conn:
        return conn.execute(
            sa.select(audit_entries).join(cases, cases.c.id == audit_entries.c.case_id)
            .where(cases.c.code == code).order_by(audit_entries.c.id)
        ).all()


def case_row(db, code):
    from processing import queries

    with db.transaction(readonly=True) as conn:
        return queries.get_case(conn, code)


@pytest.fixture
def outbox_events(db):
    return lambda code=None: published(db, code)


@pytest.fixture
def audit(db):
    return lambda code: audit_of(db, code)


@pytest.fixture
def case_of(db):
    return lambda code: case_row(db, code)
