"""Payment tests run on a migrated database of their own (SQLite, and PostgreSQL when reachable)."""
import copy

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from payment.config import Settings
from payment.handlers import create_subscription
from payment.manage import MIGRATIONS


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("payment", db_url)
    return Settings(kit=kit, bank_bin="970436", bank_account="0011001234567", order_ttl_hours=72)


@pytest.fixture
def db(settings):
    database = migrated_database(settings.kit.database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def subscription(settings):
    return create_subscription(settings)


@pytest.fixture
def client(settings, db):
    from payment.app import create_app

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
    "delivery": {"method": "counter", "address": None},
    "notify_channels": ["sms"],
    "channel": "online",
    "submitted_at": "2026-11-24T02:00:00.000Z",
    "fees": {"procedure_vnd": 0, "postal_vnd": 0},
}


def _dossier_submitted(code=None, agency=None, fee_vnd=None, fee_mode=None):
    data = copy.deepcopy(_SUBMITTED)
    if code is not None:
        data["code"] = code
    if agency is not None:
        data["agency"]["code"] = agency
    if fee_vnd is not None:
        data["procedure"]["fee_vnd"] = data["fees"]["procedure_vnd"] = fee_vnd
    if fee_mode is not None:
        data["procedure"]["fee_mode"] = fee_mode
    return data


@pytest.fixture
def dossier_submitted():
    """Factory for dossier.submitted.v1 payloads exactly as intake publishes them (every field)."""
    return _dossier_submitted
