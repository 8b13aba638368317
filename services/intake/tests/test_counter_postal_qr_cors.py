"""Counter filing by a clerk, the postal quote read-through, the procedure QR, CORS and the OpenAPI examples."""
import io
import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import segno
import sqlalchemy as sa
from PIL import Image

from servicekit.auth import issue_token

from intake.models import dossiers, outbox


def count(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# ---- counter filing ----------------------------------------------------------------------------------------
def clerk(settings, *, role="clerk", agency="000.00.06.H56", sub="canbo.motcua.01"):
    return {"Authorization": f"Bearer {issue_token(settings.kit, sub=sub, role=role, agency=agency)}"}


def test_a_clerk_of_the_procedures_agency_files_at_the_counter_and_is_recorded(db, settings, file_dossier,
                                                                               filing_body):
    response = file_dossier(filing_body(channel="counter"), headers=clerk(settings))
    assert response.status_code == 201, response.get_json()
    with db.transaction(readonly=True) as conn:
        dossier, = conn.execute(sa.select(dossiers)).all()
        data = json.loads(conn.execute(sa.select(outbox.c.body)).scalar_one())["data"]
    assert (dossier.channel, dossier.filed_by) == ("counter", "canbo.motcua.01")
    assert (data["channel"], data["filed_by"]) == ("counter", "canbo.motcua.01")


@pytest.mark.parametrize("who", [{"role": "specialist"}, {"agency": "000.00.07.H56"}, {"role": "admin"}])
def test_counter_filing_by_anyone_but_a_clerk_of_that_agency_is_a_403_and_leaves_nothing(
        who, db, settings, file_dossier, filing_body):
    response = file_dossier(filing_body(channel="counter"), headers=clerk(settings, **who))
    assert response.status_code == 403 and response.get_json()["code"] == 403
    assert count(db, dossiers) == count(db, outbox) == 0


def test_counter_filing_without_a_valid_officer_token_is_refused(db, settings, file_dossier, filing_body):
    assert file_dossier(filing_body(channel="counter")).status_code == 401
    bad = {"Authorization": "Bearer not.a.jwt"}
    assert file_dossier(filing_body(channel="counter"), headers=bad).status_code == 401
    assert count(db, dossiers) == 0


def test_an_online_filing_ignores_an_officer_token_and_records_no_filer(db, settings, file_dossier, filing_body):
    assert file_dossier(filing_body(), headers=clerk(settings)).status_code == 201
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(dossiers.c.filed_by)).scalar_one() is None


# ---- postal quote ------------------------------------------------------------------------------------------
class FakePostal(BaseHTTPRequestHandler):
    answer = (200, {"service": "return", "zone": "intra_province", "weight_g": 100, "operator_vnd": 26000,
                    "citizen_vnd": 10000, "tariff_version": "2021-01-01", "citizen_policy": "ha-tinh-10k"})
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        FakePostal.seen.append((urlparse(self.path).path, parse_qs(urlparse(self.path).query)))
        status, body = FakePostal.answer
        raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def postal(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePostal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakePostal.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}", FakePostal
    server.shutdown()
    server.server_close()


def client_for(settings, **changes):
    from intake.app import create_app

    return create_app(replace(settings, **changes)).test_client()


QUOTE = "/v1/postal/quote?province=Ph%C3%BA%20Th%E1%BB%8D&commune=Ph%C6%B0%E1%BB%9Dng%20Ph%C3%BAc%20Y%C3%AAn&weight_g=120"


def test_the_quote_is_read_through_from_postal(db, settings, postal):
    url, fake = postal
    response = client_for(settings, postal_url=url).get(QUOTE)
    assert response.status_code == 200
    assert response.get_json()["citizen_vnd"] == 10000 and response.get_json()["operator_vnd"] == 26000
    path, query = fake.seen[0]
    assert path == "/v1/quotes"
    assert query == {"province": ["Phú Thọ"], "commune": ["Phường Phúc Yên"], "weight_g": ["120"],
                     "service": ["return"]}


def test_postal_down_is_a_503_in_the_common_shape_and_filing_still_works(db, settings, file_dossier):
    down = client_for(settings, postal_url="http://127.0.0.1:9", postal_timeout_seconds=0.5)
    response = down.get(QUOTE)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert set(response.get_json()) == {"code", "status", "message"} and response.get_json()["code"] == 503
    assert file_dossier(target=down).status_code == 201


def test_postal_failing_is_a_503_and_its_refusal_a_422(db, settings, postal):
    url, fake = postal
    fake.answer = (500, b"<html>oops</html>")
    assert client_for(settings, postal_url=url).get(QUOTE).status_code == 503
    fake.answer = (422, {"code": 422, "status": "Unprocessable Entity", "message": "no tariff",
                         "errors": {"query": {"commune": ["unknown commune"]}}})
    response = client_for(settings, postal_url=url).get(QUOTE)
    assert response.status_code == 422 and response.get_json()["errors"] == {"query": {"commune": ["unknown commune"]}}


@pytest.mark.parametrize("query, field", [("?commune=x", "province"), ("?province=x&commune=y&weight_g=0", "weight_g"),
                                          ("?province=x&commune=y&service=drone", "service")])
def test_a_bad_quote_query_is_a_422_naming_the_field_without_calling_postal(query, field, client, postal):
    response = client.get("/v1/postal/quote" + query)
    assert response.status_code == 422 and field in response.get_json()["errors"]["query"]
    assert postal[1].seen == []


# ---- procedure QR -------------------------------------------------------------------------------------------
def test_the_procedure_qr_points_at_its_public_page(client, settings):
    response = client.get("/v1/procedures/1.001193.H56/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    expected = io.BytesIO()
    segno.make("http://127.0.0.1:8000/thu-tuc/1.001193.H56", error="m", micro=False).save(
        expected, kind="png", scale=8, border=4)
    assert response.data == expected.getvalue()
    assert Image.open(io.BytesIO(response.data)).format == "PNG"


def test_the_procedure_qr_follows_the_portal_url(db, settings):
    other = client_for(settings, portal_url="https://dichvucong.phutho.gov.vn")
    expected = io.BytesIO()
    segno.make("https://dichvucong.phutho.gov.vn/thu-tuc/1.001193.H56", error="m", micro=False).save(
        expected, kind="png", scale=8, border=4)
    assert other.get("/v1/procedures/1.001193.H56/qr.png").data == expected.getvalue()


def test_an_unknown_procedures_qr_is_a_404(client):
    assert client.get("/v1/procedures/9.999999.H56/qr.png").status_code == 404


# ---- CORS ---------------------------------------------------------------------------------------------------
def test_cors_answers_configured_origins_only(db, settings):
    web = client_for(settings, cors_origins=("https://dichvucong.phutho.gov.vn",))
    preflight = web.options("/v1/dossiers", headers={
        "Origin": "https://dichvucong.phutho.gov.vn", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://dichvucong.phutho.gov.vn"
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    simple = web.get("/v1/procedures", headers={"Origin": "https://dichvucong.phutho.gov.vn"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://dichvucong.phutho.gov.vn"
    assert "Retry-After" in simple.headers["Access-Control-Expose-Headers"]
    stranger = web.get("/v1/procedures", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert "Origin" in stranger.headers["Vary"]


def test_no_cors_headers_without_configured_origins(client):
    response = client.get("/v1/procedures", headers={"Origin": "https://dichvucong.phutho.gov.vn"})
    assert "Access-Control-Allow-Origin" not in response.headers


# ---- OpenAPI ------------------------------------------------------------------------------------------------
def test_every_endpoint_of_the_openapi_document_has_an_example(client):
    spec = client.get("/openapi.json").get_json()
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post"):
                continue
            examples = [content.get("example") for response in operation["responses"].values()
                        for content in response.get("content", {}).values()]
            examples += [content.get("example") for content in
                         operation.get("requestBody", {}).get("content", {}).values()]
            binary = any(c.get("schema", {}).get("format") == "binary" for r in operation["responses"].values()
                         for c in r.get("content", {}).values())
            if not any(examples) and not binary:
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing
    expected = {"/v1/uploads", "/v1/procedures/{code}/qr.png", "/v1/postal/quote", "/v1/dossiers/{code}/supplements",
                "/v1/dossiers/{code}/withdrawal", "/v1/dossiers/{code}/rating", "/v1/dossiers/{code}/payment-qr.png",
                "/v1/dossiers/{code}/receipt.pdf", "/v1/dossiers/{code}/tokens/revoke"}
    assert expected <= set(spec["paths"])


def test_the_openapi_examples_are_what_the_schemas_produce():
    from intake import examples, schemas

    for schema, example in [(schemas.DossierViewSchema(), examples.VIEW), (schemas.FiledSchema(), examples.FILED),
                            (schemas.ProcedureSchema(), examples.PROCEDURE), (schemas.UploadedSchema(), examples.UPLOADED)]:
        assert set(example) == set(schema.fields), type(schema).__name__
    assert schemas.FilingSchema().validate(examples.FILING) == {}
