"""Postal tests run on a migrated database of their own (SQLite, and PostgreSQL when reachable)."""
import copy

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from postal import handlers
from postal.config import SENDERS_FILE, Settings, load_senders
from postal.manage import MIGRATIONS
from postal.pricing import Sender
from postal.seed import seed_reference_data

WEBHOOK_SECRET = "test-postal-webhook-secret"
# An agency in Đà Nẵng (the city of DOMAIN.md's tariff), in an inner-city ward.
DA_NANG_AGENCY = "000.00.01.H17"
DA_NANG_SENDER = Sender("Bộ phận Một cửa UBND phường Hải Châu", "270 Trưng Nữ Vương", "842363822000", "Đà Nẵng",
                        "Phường Hải Châu")


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("postal", db_url)
    senders = {**load_senders(SENDERS_FILE), DA_NANG_AGENCY: DA_NANG_SENDER}
    configured = Settings(kit=kit, senders=senders, webhook_secrets=(WEBHOOK_SECRET, "previous-secret"))
    configured.check()
    handlers.configure(configured)  # the handlers price shipments with these senders, as the worker's would
    yield configured
    handlers.configure(None)


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


def _dossier_submitted(code=None, agency=None, method="post", province=None, commune=None, **delivery):
    data = copy.deepcopy(_SUBMITTED)
    if code is not None:
        data["code"] = code
    if agency is not None:
        data["agency"]["code"] = agency
    if province is not None:
        data["delivery"]["address"]["province"] = province
    if commune is not None:
        data["delivery"]["address"]["commune"] = commune
    data["delivery"].update(delivery)
    if method != "post":
        data["delivery"] = {"method": method, "address": None}
        data["fees"]["postal_vnd"] = 0
    return data


@pytest.fixture
def dossier_submitted():
    """Factory for dossier.submitted.v1 payloads exactly as intake publishes them (every field)."""
    return _dossier_submitted


_BASE = {"agency_code": "000.00.06.H56", "procedure_code": "1.000948.H38", "actor": "officer-7",
         "at": "2026-11-26T03:00:00.000Z"}


def _result_ready(code="000.00.06.H56-261124-0001", seq=6, delivery_method="post", fee_mode="none", fee_vnd=0):
    return {**_BASE, "code": code, "status": "result_ready", "status_code": 9, "seq": seq,
            "result_file_id": "f-1", "result_sha256": "0" * 64, "paper_original": True,
            "delivery_method": delivery_method, "fee_mode": fee_mode, "fee_vnd": fee_vnd}


def _closed(how, code="000.00.06.H56-261124-0001", seq=3, reason="Hồ sơ không đủ điều kiện"):
    codes = {"refused": 3, "withdrawn": 7, "stopped": 8}
    return {**_BASE, "code": code, "status": how, "status_code": codes[how], "seq": seq, "reason": reason}


def _payment_completed(code="000.00.06.H56-261124-0001"):
    return {"dossier_code": code, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A", "amount_vnd": 50000,
            "paid_at": "2026-11-26T04:00:00.000Z", "bank_txn_id": "FT1", "method": "online"}


@pytest.fixture
def result_ready():
    """Factory for dossier.result_ready.v1 payloads as processing publishes them (EVENTS.md)."""
    return _result_ready


@pytest.fixture
def dossier_closed():
    """Factory for dossier.refused / withdrawn / stopped payloads."""
    return _closed


@pytest.fixture
def payment_completed():
    return _payment_completed
