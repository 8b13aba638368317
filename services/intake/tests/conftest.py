"""Intake tests run on a migrated, seeded database of their own (SQLite, and PostgreSQL when reachable)."""
import copy
import uuid

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from intake.config import Settings
from intake.manage import MIGRATIONS
from intake.seed import seed

BIRTH = "1.001193.H56"  # Đăng ký khai sinh, UBND phường Phúc Yên: full online, counter or post, no fee


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("intake", db_url)
    return Settings(kit=kit, token_secret="test-only-intake-token-secret")


@pytest.fixture
def db(settings):
    database = migrated_database(settings.kit.database_url, MIGRATIONS)
    seed(database)
    yield database
    database.dispose()


@pytest.fixture
def app(settings, db):
    from intake.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


_FILING = {
    "procedure_code": BIRTH,
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "0912 345 678", "email": "anh@example.vn", "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
    "documents": [{"code": "TK_KHAI_SINH", "upload_id": "upl-1"}, {"code": "GIAY_CHUNG_SINH", "upload_id": "upl-2"}],
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                               "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh"}},
    "notify_channels": ["sms"],
    "channel": "online",
}


def _filing_body(**overrides):
    body = copy.deepcopy(_FILING)
    body.update(copy.deepcopy(overrides))
    return body


@pytest.fixture
def filing_body():
    """Factory for POST /v1/dossiers bodies: a valid birth registration, top-level fields overridable."""
    return _filing_body


@pytest.fixture
def file_dossier(client):
    """Files a dossier through the API; a fresh Idempotency-Key unless one is given."""

    def _file(body=None, *, key=None, target=None):
        return (target or client).post("/v1/dossiers", json=body if body is not None else _filing_body(),
                                       headers={"Idempotency-Key": key or str(uuid.uuid4())})

    return _file


# Other services' registered examples, copied (intake imports no other service) so the tests feed intake's
# handlers exactly what the producers document. If a producer changes its example, copy it here again.
# From services/payment/payment/events.py, PUBLISHES["payment.requested.v1"].example:
PAYMENT_REQUESTED_EXAMPLE = {
    "dossier_code": "000.00.06.H56-261124-0001",
    "reference": "MCK7QX2MZP4A",
    "amount_vnd": 50000,
    "qr_payload": (
        "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
        "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
    ),
    "expires_at": "2026-11-27T02:00:00.000Z",
}
# From services/postal/postal/events.py, PUBLISHES["shipment.created.v1"].example:
SHIPMENT_CREATED_EXAMPLE = {
    "dossier_code": "000.00.06.H56-261124-0001",
    "tracking_no": "MC000000014VN",
    "service": "return",
    "status": "awaiting_result",
}


@pytest.fixture
def payment_requested():
    """Factory for payment.requested.v1 data: payment's registered example, fields overridable."""
    return lambda **overrides: {**copy.deepcopy(PAYMENT_REQUESTED_EXAMPLE), **overrides}


@pytest.fixture
def shipment_created():
    """Factory for shipment.created.v1 data: postal's registered example, fields overridable."""
    return lambda **overrides: {**copy.deepcopy(SHIPMENT_CREATED_EXAMPLE), **overrides}
