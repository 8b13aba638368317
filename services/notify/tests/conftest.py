"""Notify tests run on a migrated, seeded database of their own (SQLite, and PostgreSQL when reachable).

Outside parties are faked at the boundary only: a real HTTP server in a thread stands in for the
SMS/Zalo gateway, and a fake SMTP class for the mail server.
"""
import copy
import json
import socket
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from servicekit.tables import now
from servicekit.testing import kit_settings_for_tests, deliver_event, migrated_database

from notify.config import Settings
from notify.handlers import build_subscription
from notify.manage import MIGRATIONS, seed
from notify.models import inbox, messages, outbox


@pytest.fixture
def settings(db_url):
    kit = kit_settings_for_tests("notify", db_url)
    return replace(Settings.from_env(), kit=kit, sms_gateway_url="http://127.0.0.1:9", smtp_url="smtp://127.0.0.1:9",
                   retry_base_seconds=2.0, max_attempts=3, send_timeout_seconds=2.0)


@pytest.fixture
def db(settings):
    database = migrated_database(settings.kit.database_url, MIGRATIONS)
    seed(database)
    yield database
    database.dispose()


@pytest.fixture
def client(settings, db):
    from notify.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app.test_client()


def _dossier_submitted(code="000.00.06.H56-261124-0001", agency="000.00.06.H56", channels=("sms",), **applicant):
    person = {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
              "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, Phúc Yên"}
    person.update(applicant)
    return {
        "code": code,
        "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "level": "full_online",
                      "processing_days": 3, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
        "agency": {"code": agency, "name": "UBND phường Phúc Yên"},
        "applicant": person,
        "delivery": {"method": "counter", "address": None},
        "notify_channels": list(channels),
        "channel": "online",
        "submitted_at": "2026-11-24T02:00:00.000Z",
        "fees": {"procedure_vnd": 0, "postal_vnd": 0},
    }


@pytest.fixture
def dossier_submitted():
    """Factory for dossier.submitted.v1 payloads as intake publishes them."""
    return _dossier_submitted


@pytest.fixture
def submit(db, settings, dossier_submitted):
    """Deliver dossier.submitted.v1 the way the consumer does; returns the kit's outcome."""

    def _submit(event_id=None, wake=None, **kwargs):
        return deliver_event(db, inbox, build_subscription(settings, wake=wake), "notify", "dossier.submitted.v1",
                             dossier_submitted(**kwargs), event_id=event_id)

    return _submit


def _payment_requested(dossier_code="000.00.06.H56-261124-0001", **overrides):
    # Shaped like payment's registered example (services/payment/payment/events.py).
    data = {
        "dossier_code": dossier_code,
        "reference": "MCK7QX2MZP4A",
        "amount_vnd": 50000,
        "qr_payload": (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
            "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
        ),
        "expires_at": "2026-11-27T02:00:00.000Z",
    }
    data.update(overrides)
    return data


@pytest.fixture
def payment_requested():
    """Factory for payment.requested.v1 payloads as payment publishes them."""
    return _payment_requested


@pytest.fixture
def request_payment(db, settings, payment_requested):
    """Deliver payment.requested.v1 the way the consumer does; returns the kit's outcome."""

    def _request(event_id=None, wake=None, **kwargs):
        return deliver_event(db, inbox, build_subscription(settings, wake=wake), "notify", "payment.requested.v1",
                             payment_requested(**kwargs), event_id=event_id)

    return _request


@pytest.fixture
def deliver(db, settings):
    """Deliver any consumed type the way the consumer does: its registered example with `overrides`
    (the dossier code under `code` or `dossier_code`, whichever the type has); returns the kit's outcome."""
    from notify.events import CONSUMES

    def _deliver(type_, event_id=None, wake=None, **overrides):
        data = copy.deepcopy(CONSUMES[type_].example)
        data.update(overrides)
        return deliver_event(db, inbox, build_subscription(settings, wake=wake), "notify", type_, data,
                             event_id=event_id)

    return _deliver


@pytest.fixture
def rows(db):
    """All rows of a table (messages by default), read in a transaction of their own."""

    def _rows(table=messages, *where):
        with db.transaction(readonly=True) as conn:
            return conn.execute(sa.select(table).where(*where)).all()

    return _rows


@pytest.fixture
def published(db):
    """The events in the outbox, as (type, data) pairs."""

    def _published(type_=None):
        with db.transaction(readonly=True) as conn:
            found = conn.execute(sa.select(outbox.c.type, outbox.c.body).order_by(outbox.c.id)).all()
        return [(t, json.loads(b)["data"]) for t, b in found if type_ in (None, t)]

    return _published


class FakeGateway:
    """A real HTTP server answering POST /v1/messages; tests script its answers and read what it got."""

    def __init__(self):
        self.received: list[dict] = []
        # Answers to give next, in order, as (status, headers[, seconds to wait first]); then `default`.
        self.script: list[tuple] = []
        self.default = (202, {})
        self.delay = 0.0  # added to every answer
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        body = request.get_json()
        with self._lock:
            self.received.append(body)
            status, headers, *wait = self.script.pop(0) if self.script else self.default
        if self.delay or wait:
            threading.Event().wait(self.delay + sum(wait))
        answer = {"message_id": body["message_id"], "status": "accepted"} if status < 300 else {"message": "no"}
        return Response(json.dumps(answer), status=status, headers=headers, content_type="application/json")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    fake = FakeGateway()
    yield fake
    fake.close()


class FakeClock:
    """Real time plus an offset that tests move forward, so backoff can be checked without waiting."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self):
        return now() + self.offset

    def advance(self, seconds: float):
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_sender(settings, db, gateway, clock):
    """A Sender on the test database talking to the fake gateway; stopped at the end of the test."""
    from notify.sender import Sender

    made = []

    def _make(database=None, transports=None, **overrides):
        sender = Sender(replace(settings, **{"sms_gateway_url": gateway.url, **overrides}), database or db,
                        transports=transports, clock=clock)
        made.append(sender)
        return sender

    yield _make
    for sender in made:
        sender.stop(timeout=5)


@pytest.fixture
def closed_port():
    """A local port nobody listens on: connecting to it is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
