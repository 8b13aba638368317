"""Every HTTP door of a kit-built app: hostile bodies, paging, methods, outages of its database and broker."""
from __future__ import annotations

import io
import json
import sqlite3
from types import SimpleNamespace

import pika
import pytest
from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from servicekit.auth import officer_required
from servicekit.web import PageArgs, Unavailable, create_service_app, current_db, current_settings

from kit_fixtures import make_settings

CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens on port 1


class Body(Schema):
    name = fields.String(validate=validate.Length(max=50))
    items = fields.Raw()
    count = fields.Integer()


def build_app(db_url: str, amqp_url: str = CLOSED_BROKER, **options):
    settings = SimpleNamespace(kit=make_settings(amqp_url, db_url))
    app, api = create_service_app(settings, title="doors", **options)
    blp = Blueprint("things", __name__, url_prefix="/v1/things")

    class Query(PageArgs):
        q = fields.String()

    @blp.get("")
    @blp.arguments(Query, location="query")
    def list_things(args):
        with current_db().transaction(readonly=True) as conn:
            conn.exec_driver_sql("SELECT 1 LIMIT ? OFFSET ?", (args["per_page"], (args["page"] - 1) * args["per_page"]))
        return {"page": args["page"], "per_page": args["per_page"]}

    @blp.post("")
    @blp.arguments(Body)
    def post_thing(args):
        return {"name": args.get("name")}

    @blp.get("/mine")
    @officer_required(lambda: current_settings().kit)
    def mine():
        return {"agency": g.officer["agency"]}

    @blp.get("/locked")
    def locked():
        raise sqlite3.OperationalError("database is locked")

    @blp.get("/quote")
    def quote():
        raise Unavailable("postal is not answering")

    api.register_blueprint(blp)
    app.config["TESTING"] = False  # errors go through the kit's handlers, as in production
    return app


@pytest.fixture
def client(tmp_path):
    return build_app(f"sqlite:///{tmp_path}/doors.db").test_client()


def post_raw(client, body: bytes | str, **kwargs):
    return client.post("/v1/things", data=body, content_type="application/json", **kwargs)


def assert_error_shape(response, status: int):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["code"] == status and isinstance(body["message"], str) and body["status"]


def test_json_nested_ten_thousand_deep_is_a_400_not_a_500(client):
    assert_error_shape(post_raw(client, "[" * 10_000 + "]" * 10_000), 400)
    assert_error_shape(post_raw(client, '{"items": ' + "[" * 100 + "]" * 100 + "}"), 400)  # parses, but too deep


def test_an_integer_of_five_thousand_digits_is_a_400(client):
    assert_error_shape(post_raw(client, '{"count": ' + "9" * 5000 + "}"), 400)


def test_a_lone_surrogate_or_a_nul_in_a_string_is_a_400(client):
    assert_error_shape(post_raw(client, '{"name": "A\\ud800"}'), 400)
    assert_error_shape(post_raw(client, '{"name": "A\\u0000"}'), 400)
    assert_error_shape(post_raw(client, '{"items": {"\\udfff": 1}}'), 400)
    assert_error_shape(client.get("/v1/things?q=a%00b"), 400)
    assert post_raw(client, '{"name": "Đặng Thị Ngọc Ánh \\ud83d\\ude00"}').status_code == 200  # a real pair is fine


def test_a_nul_in_a_form_field_or_an_upload_file_name_is_a_400(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/doors.db", multipart_endpoints=("upload",))
    app.post("/upload", endpoint="upload")(lambda: {"name": request.files["file"].filename})
    client = app.test_client()
    ok = client.post("/upload", data={"file": (io.BytesIO(b"%PDF-1.4"), "giay-khai-sinh.pdf")})
    assert ok.status_code == 200 and ok.get_json() == {"name": "giay-khai-sinh.pdf"}
    assert_error_shape(client.post("/upload", data={"file": (io.BytesIO(b"%PDF-1.4"), "a\x00.pdf")}), 400)
    assert_error_shape(client.post("/upload", data={"note": "a\x00b", "file": (io.BytesIO(b"x"), "a.pdf")}), 400)


def test_nan_and_infinity_are_not_json_numbers(client):
    assert_error_shape(post_raw(client, '{"items": NaN}'), 400)
    assert_error_shape(post_raw(client, '{"items": 1e999}'), 400)


def test_request_get_json_goes_through_the_same_bounded_loader(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/doors.db")
    app.post("/raw")(lambda: {"ok": bool(request.get_json())})
    client = app.test_client()
    assert_error_shape(client.post("/raw", data="[" * 10_000 + "]" * 10_000, content_type="application/json"), 400)
    assert client.post("/raw", json={"a": 1}).status_code == 200


def test_a_page_number_past_the_bound_is_a_422_and_never_reaches_the_database(client):
    assert client.get("/v1/things?page=10000&per_page=100").status_code == 200
    for query in ("page=99999999999999999999", "page=10001", "per_page=101", "page=0", "page=" + "9" * 5000):
        assert_error_shape(client.get(f"/v1/things?{query}"), 422)


def test_a_chunked_body_over_the_size_limit_is_a_413(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/doors.db", max_content_length=1024)
    client = app.test_client()

    def chunked(body: bytes):
        # What gunicorn hands the app for Transfer-Encoding: chunked: no length, a stream it terminates.
        return client.post("/v1/things", input_stream=io.BytesIO(body), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"}, environ_base={"wsgi.input_terminated": True})

    big = json.dumps({"name": "x", "items": "y" * 5000}).encode()
    assert_error_shape(chunked(big), 413)
    assert chunked(b'{"name": "ok"}').get_json() == {"name": "ok"}
    assert_error_shape(post_raw(client, big), 413)  # with a Content-Length, as before


def test_a_405_names_the_allowed_methods(client):
    response = client.delete("/v1/things")
    assert_error_shape(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["status"] == "Method Not Allowed"


def test_every_protected_operation_declares_the_bearer_security_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["paths"]["/v1/things/mine"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/v1/things"]["get"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_database_that_cannot_be_opened_is_a_503_with_retry_after_never_a_500(tmp_path):
    # A directory where the database file should be: SQLite cannot open it (what a missing volume looks like).
    app = build_app(f"sqlite:///{tmp_path}")
    response = app.test_client().get("/v1/things")
    assert_error_shape(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("down")


def test_a_locked_database_is_a_503_with_retry_after(client):
    response = client.get("/v1/things/locked")
    assert_error_shape(response, 503)
    assert response.headers["Retry-After"]


def test_any_503_a_use_case_raises_carries_retry_after(client):
    response = client.get("/v1/things/quote")
    assert_error_shape(response, 503)
    assert int(response.headers["Retry-After"]) > 0


def test_a_postgresql_server_that_is_down_is_a_503(tmp_path):
    app = build_app("postgresql://postgres@127.0.0.1:1/nothing")
    response = app.test_client().get("/v1/things")
    assert_error_shape(response, 503)
    assert response.headers["Retry-After"]


def test_a_broker_outage_is_reported_in_readyz_without_taking_the_service_out_of_rotation(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/doors.db")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"]["broker"].startswith("down")
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'motcua_dependency_up{dependency="broker",service="kittest"} 0.0' in metrics
    assert 'motcua_dependency_up{dependency="database",service="kittest"} 1.0' in metrics


def test_a_service_that_needs_the_broker_can_say_so(tmp_path):
    app = build_app(f"sqlite:///{tmp_path}/doors.db", broker_required=True)
    assert app.test_client().get("/readyz").status_code == 503


def test_the_broker_probe_keeps_one_connection_instead_of_opening_one_per_check(tmp_path, amqp_url, monkeypatch):
    opened = []
    real = pika.BlockingConnection

    def counting(params):
        opened.append(params)
        return real(params)

    monkeypatch.setattr(pika, "BlockingConnection", counting)
    app = build_app(f"sqlite:///{tmp_path}/doors.db", amqp_url=amqp_url)
    probe = app.extensions["motcua.broker_probe"]
    probe.ttl = 0  # every /readyz probes
    client = app.test_client()
    for _ in range(5):
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.get_json()["checks"]["broker"] == "ok"
    assert len(opened) == 1
    probe._conn.close()  # the broker dropped it (a restart, a missed heartbeat): the next probe opens one again
    assert client.get("/readyz").get_json()["checks"]["broker"] == "ok"
    assert len(opened) == 2
    probe.close()
