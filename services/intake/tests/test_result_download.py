"""The citizen downloads the dossier's electronic result: recorded from dossier.result_ready.v1, fetched from
processing by a signed, expiring link, checked against the issued SHA-256."""
import hashlib
import json
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from servicekit.events import rfc3339
from servicekit.signing import BadSignature, verify_link
from servicekit.testing import deliver_event

from intake.events import CONSUMES
from intake.handlers import SUBSCRIPTION
from intake.models import inbox

RESULT = b"%PDF-1.4\n% ket qua giai quyet\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FILE_ID = "7c1e0f3a9b2d4c6e8f0a1b3c5d7e9f1a"
SECRET = "test-only-file-link-secret"


class FakeProcessing(BaseHTTPRequestHandler):
    """Processing's GET /v1/files/{id}: only with a valid link signature, like the real one."""
    files: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        file_id = url.path.rsplit("/", 1)[-1]
        FakeProcessing.seen.append((url.path, query))
        try:
            verify_link(file_id, query.get("expires"), query.get("sig"), SECRET)
            status, body = (200, self.files[file_id]) if file_id in self.files else (404, b"{}")
        except BadSignature:
            status, body = 403, b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/pdf" if status == 200 else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def processing():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProcessing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeProcessing.files, FakeProcessing.seen = {FILE_ID: RESULT}, []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client_to(settings, db):
    from intake.app import create_app

    def _client(url, **changes):
        changes = {"file_link_secret": SECRET, **changes}
        return create_app(replace(settings, processing_url=url, **changes)).test_client()
    return _client


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def result_ready(db, code, sha256=None, paper_original=True):
    data = json.loads(json.dumps(CONSUMES["dossier.result_ready.v1"].example))
    data.update(code=code, at=rfc3339(datetime.now(timezone.utc) + timedelta(minutes=5)), result_file_id=FILE_ID,
                result_sha256=sha256 or hashlib.sha256(RESULT).hexdigest(), paper_original=paper_original)
    deliver_event(db, inbox, SUBSCRIPTION, "intake", "dossier.result_ready.v1", data, subject=code)


@pytest.fixture
def filed(file_dossier):
    return file_dossier().get_json()


def test_the_view_has_no_result_until_result_ready_then_an_available_one(client, db, filed):
    view = lambda: client.get(f"/v1/dossiers/{filed['code']}", headers=bearer(filed["access_token"])).get_json()
    assert view()["result"] is None
    result_ready(db, filed["code"], paper_original=True)
    assert view()["result"] == {"available": True, "paper_original": True,
                                "sha256": hashlib.sha256(RESULT).hexdigest()}
    assert view()["status"] == "result_ready"


def test_the_citizen_downloads_the_exact_issued_bytes_through_a_signed_link(client_to, db, filed, processing):
    result_ready(db, filed["code"])
    answer = client_to(processing).get(f"/v1/dossiers/{filed['code']}/result.pdf",
                                       headers=bearer(filed["access_token"]))
    assert answer.status_code == 200 and answer.data == RESULT and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="ket-qua-{filed["code"]}.pdf"'
    (path, query), = FakeProcessing.seen
    assert path == f"/v1/files/{FILE_ID}" and set(query) == {"expires", "sig"}


def test_another_token_or_an_unknown_code_is_the_same_404_and_processing_is_not_asked(
        client_to, db, filed, file_dossier, processing):
    other = file_dossier().get_json()
    result_ready(db, filed["code"])
    client = client_to(processing)
    not_yours = client.get(f"/v1/dossiers/{filed['code']}/result.pdf", headers=bearer(other["access_token"]))
    unknown = client.get("/v1/dossiers/000.00.06.H56-261124-9999/result.pdf", headers=bearer(filed["access_token"]))
    assert not_yours.status_code == unknown.status_code == 404
    assert not_yours.get_json()["message"] == unknown.get_json()["message"]
    assert client.get(f"/v1/dossiers/{filed['code']}/result.pdf").status_code == 401
    assert FakeProcessing.seen == []


def test_before_the_result_is_issued_the_download_is_a_409(client_to, filed, processing):
    answer = client_to(processing).get(f"/v1/dossiers/{filed['code']}/result.pdf",
                                       headers=bearer(filed["access_token"]))
    assert answer.status_code == 409 and FakeProcessing.seen == []


def test_processing_unreachable_is_a_503_with_retry_after(client_to, db, filed):
    result_ready(db, filed["code"])
    answer = client_to("http://127.0.0.1:9", processing_timeout_seconds=0.5).get(
        f"/v1/dossiers/{filed['code']}/result.pdf", headers=bearer(filed["access_token"]))
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0


def test_bytes_that_differ_from_the_issued_sha256_are_a_502_and_a_log_line(client_to, db, filed, processing, capfd):
    result_ready(db, filed["code"], sha256="0" * 64)
    answer = client_to(processing).get(f"/v1/dossiers/{filed['code']}/result.pdf",
                                       headers=bearer(filed["access_token"]))
    assert answer.status_code == 502 and b"%PDF" not in answer.data
    assert '"event": "result.sha256_mismatch"' in capfd.readouterr().err


def test_a_link_processing_refuses_is_a_502_not_the_citizens_fault(client_to, db, filed, processing):
    result_ready(db, filed["code"])
    answer = client_to(processing, file_link_secret="another-secret-of-16-chars").get(
        f"/v1/dossiers/{filed['code']}/result.pdf", headers=bearer(filed["access_token"]))
    assert answer.status_code == 502
