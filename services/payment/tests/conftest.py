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


# ---- helpers shared by the callback, job and report tests ---------------------------------------
import json  # noqa: E402
import threading  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from servicekit.signing import sign  # noqa: E402
from servicekit.testing import deliver_event  # noqa: E402

from payment.models import inbox, order_history, outbox, payment_orders  # noqa: E402

SECRET = "test-bank-secret"


@pytest.fixture
def settings_with_bank(settings):
    """Settings whose bank secret the tests sign with (the fixtures below build on it)."""
    from dataclasses import replace

    return replace(settings, bank_webhook_secret=SECRET, expiry_every_seconds=1, reconcile_every_seconds=1)


class Payment:
    """One test's view of the payment service: deliver events, read orders, events, history."""

    def __init__(self, db, subscription):
        self.db = db
        self.subscription = subscription

    def deliver(self, type_, data, event_id=None):
        return deliver_event(self.db, inbox, self.subscription, "payment", type_, data, event_id=event_id)

    def order(self, code="000.00.06.H56-261124-0001"):
        with self.db.transaction(readonly=True) as conn:
            return conn.execute(sa.select(payment_orders).where(payment_orders.c.dossier_code == code)).first()

    def events(self, type_=None):
        with self.db.transaction(readonly=True) as conn:
            rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
        return [json.loads(r.body)["data"] | {"_type": r.type} for r in rows if type_ in (None, r.type)]

    def history(self, code="000.00.06.H56-261124-0001"):
        order = self.order(code)
        with self.db.transaction(readonly=True) as conn:
            rows = conn.execute(sa.select(order_history).where(order_history.c.order_id == order.id)
                                .order_by(order_history.c.id)).all()
        return [(r.from_status, r.to_status, r.cause) for r in rows]

    def rows(self, table):
        with self.db.transaction(readonly=True) as conn:
            return conn.execute(sa.select(table).order_by(table.c.id)).all()

    def open_order(self, dossier_submitted, code="000.00.06.H56-261124-0001", fee_vnd=50000, fee_mode="before"):
        self.deliver("dossier.submitted.v1", dossier_submitted(code=code, fee_vnd=fee_vnd, fee_mode=fee_mode))
        return self.order(code)


@pytest.fixture
def payment(db, settings_with_bank):
    from payment.handlers import create_subscription as make

    return Payment(db, make(settings_with_bank))


@pytest.fixture
def app_client(settings_with_bank, db):
    from payment.app import create_app

    app = create_app(settings_with_bank)
    app.config["TESTING"] = True
    return app.test_client()


def signed_post(client, body, *, secret=SECRET, timestamp=None, header=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if header is not False:
        headers["X-Motcua-Signature"] = header or sign(raw, secret, timestamp)
    return client.post("/v1/gateway/callbacks", data=raw, headers=headers)


def callback_for(order, **overrides):
    body = {"event_id": f"evt-{order.reference}", "reference": order.reference, "amount_vnd": order.amount_vnd,
            "result_code": "00", "bank_txn_id": f"TXN{order.reference}", "paid_at": "2026-11-24T02:10:00.000Z"}
    return body | overrides


class Served:
    """A WSGI app on a real local port, in a thread (the bank simulator, or payment itself)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(app):
        servers.append(Served(app))
        return servers[-1]

    yield start
    for served in servers:
        served.close()


@pytest.fixture
def bank_sim(tmp_path, serve):
    """The bank simulator on a real port; its callbacks go to `callback_url` (a closed port unless a test
    points it at a served payment app)."""
    from motcua_sims import bank as sim

    def start(callback_url="http://127.0.0.1:9/closed"):
        app = sim.create_app(sim.Settings(db_path=str(tmp_path / "bank.db"), callback_url=callback_url,
                                          webhook_secret=SECRET))
        served = serve(app)
        served.client = app.test_client()
        return served

    return start


@pytest.fixture
def bank_client():
    from payment.bank import BankClient

    def make(url):
        return BankClient(url, SECRET, timeout_seconds=2)

    return make


@pytest.fixture
def post_callback():
    """post_callback(client, body_or_raw, secret=..., timestamp=..., header=... | False)."""
    return signed_post


@pytest.fixture
def make_callback():
    """make_callback(order, **overrides): the bank's success callback paying exactly that order."""
    return callback_for


@pytest.fixture
def bank_secret():
    return SECRET
