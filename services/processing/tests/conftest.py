"""Processing tests run on a migrated database of their own (SQLite, and PostgreSQL when reachable)."""

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from processing.config import Settings
from processing.manage import MIGRATIONS


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("processing", db_url)
    return Settings(kit=kit)


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
