"""Intake tests run on a migrated, seeded database of their own (SQLite, and PostgreSQL when reachable)."""
import copy
import io
import uuid

import pytest

from servicekit.testing import kit_settings_for_tests, migrated_database

from intake.config import Settings
from intake.manage import MIGRATIONS
from intake.seed import seed

BIRTH = "1.001193.H56"  # Đăng ký khai sinh, UBND phường Phúc Yên: full online, counter or post, no fee


# The smallest file `servicekit.files.sniff` recognises as a PDF (what the tests upload as a document).
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture
def settings(db_url, tmp_path):
    kit = kit_settings_for_tests("intake", db_url)
    # Filing and upload limits are off here (tests file many dossiers from one client and phone);
    # test_abuse.py turns them on.
    return Settings(kit=kit, token_secret="test-only-intake-token-secret", uploads_dir=str(tmp_path / "uploads"),
                    filing_max_per_client=0, filing_max_per_phone=0, upload_max_per_client=0)


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


@pytest.fixture
def upload(client):
    """Uploads a file through the API and returns its id (a tiny PDF unless `content` is given)."""

    def _upload(content: bytes = TINY_PDF, filename: str = "giay-to.pdf", *, target=None) -> str:
        response = (target or client).post("/v1/uploads", data={"file": (io.BytesIO(content), filename)},
                                           content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return _upload


@pytest.fixture
def documents(upload):
    """documents("TK_KHAI_SINH", ...) -> [{"code", "upload_id"}] with a fresh upload for each code."""
    return lambda *codes: [{"code": code, "upload_id": upload(filename=f"{code.lower()}.pdf")} for code in codes]


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


@pytest.fixture
def filing_body(documents):
    """Factory for POST /v1/dossiers bodies: a valid birth registration with freshly uploaded documents,
    top-level fields overridable."""

    def _filing_body(**overrides):
        body = copy.deepcopy(_FILING)
        body["documents"] = documents(*(doc["code"] for doc in _FILING["documents"]))
        body.update(copy.deepcopy(overrides))
        return body

    return _filing_body


@pytest.fixture
def file_dossier(client, filing_body):
    """Files a dossier through the API; a fresh Idempotency-Key unless one is given. Without a body, a fresh
    valid one, the same again for a key used before (so a retry with that key is a true replay)."""
    bodies = {}

    def _file(body=None, *, key=None, target=None, headers=None):
        key = key or str(uuid.uuid4())
        if body is None:
            body = bodies.setdefault(key, filing_body())
        return (target or client).post("/v1/dossiers", json=body,
                                       headers={"Idempotency-Key": key, **(headers or {})})

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
