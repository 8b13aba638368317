"""Postal tests run on a migrated database of their own (SQLite, and PostgreSQL when reachable)."""
import copy

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from postal.config import Settings
from postal.manage import MIGRATIONS
from postal.seed import seed_reference_data


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("postal", db_url)
    return Settings(kit=kit)


@pytest.fixture
def db(settings):
    database = migrated_database(settings.kit.database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def seeded_db(db):
    """The database as `manage migrate` leaves it: tariffs and the citizen price policy loaded."""
    seed_reference_data(db)
    return db


@pytest.fixture
def client(settings, seeded_db):
    from postal.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app.test_client()


_SUBMITTED = {
    "code": "000.00.06.H56-261124-0001",
    "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "level": "full_online",
                  "processing_days": 3, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
    "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, Phúc Yên"},
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                               "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh",
                                               "phone": "84912345678"}},
    "notify_channels": ["sms"],
    "channel": "online",
    "submitted_at": "2026-11-24T02:00:00.000Z",
    "fees": {"procedure_vnd": 0, "postal_vnd": 10000},
}


def _dossier_submitted(code=None, agency=None, method="post"):
    data = copy.deepcopy(_SUBMITTED)
    if code is not None:
        data["code"] = code
    if agency is not None:
        data["agency"]["code"] = agency
    if method != "post":
        data["delivery"] = {"method": method, "address": None}
        data["fees"]["postal_vnd"] = 0
    return data


@pytest.fixture
def dossier_submitted():
    """Factory for dossier.submitted.v1 payloads exactly as intake publishes them (every field)."""
    return _dossier_submitted
