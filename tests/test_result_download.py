"""The citizen downloads the result of their dossier through the running suite: the officers take a dossier to
result_ready through processing's API, then intake serves the exact uploaded bytes to the citizen's token
(fetched from processing by a signed, expiring link and checked against the SHA-256 of dossier.result_ready.v1)."""
import hashlib
import uuid

import pytest

from servicekit.testing import wait_until

pytestmark = pytest.mark.slow

# Services on 8251-8255 and simulators on 8351-8354 (nearby ones on a retry): clear of `make up`,
# test_end_to_end (300), test_personal_data (380), test_faults (450), the portal's journeys (560) and bench (700+).
PORT_OFFSET = 250
# Bytes of our own, so a match cannot come from any other PDF the suite holds.
RESULT = b"%PDF-1.4\n% ket qua giai quyet ho so - kiem thu tai ve\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_citizen_downloads_the_exact_result_the_specialist_issued(amqp_url, start_suite, support):
    suite = start_suite({"MOTCUA_AMQP_URL": amqp_url}, PORT_OFFSET)
    filed = support.Filer(suite).file(support.phone_for(7), str(uuid.uuid4()))
    assert filed.status_code == 201, filed.text
    code, citizen = filed.json()["code"], {"Authorization": f"Bearer {filed.json()['access_token']}"}
    http = support.session()

    def view():
        answer = http.get(suite.url("intake", f"/v1/dossiers/{code}"), headers=citizen, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def officer(role):
        return support.officer_headers(role=role)

    def act(action, role, body):
        answer = http.post(suite.url("processing", f"/v1/dossiers/{code}/{action}"), json=body,
                           headers=officer(role), timeout=10)
        assert answer.status_code == 200, (action, answer.text)

    wait_until(lambda: support.get_officer(suite, "processing", f"/v1/dossiers/{code}").status_code == 200,
               timeout=10, interval=0.1, message="processing has no case for the dossier")
    assert view()["result"] is None
    before = http.get(suite.url("intake", f"/v1/dossiers/{code}/result.pdf"), headers=citizen, timeout=10)
    assert before.status_code == 409, before.text

    act("receive", "clerk", {})
    act("assign", "leader", {"assignee": "test-officer"})
    act("submit-for-approval", "specialist", {"summary": "Đủ điều kiện cấp"})
    act("approve", "leader", {})
    uploaded = http.post(suite.url("processing", "/v1/files"), files={"file": ("ket-qua.pdf", RESULT, "application/pdf")},
                         headers=officer("specialist"), timeout=10)
    assert uploaded.status_code == 201, uploaded.text
    act("issue-result", "specialist", {"result_file_id": uploaded.json()["id"], "paper_original": True})

    result = wait_until(lambda: view()["result"], timeout=10, interval=0.1,
                        message="intake's view never showed the result (dossier.result_ready.v1)")
    assert result == {"available": True, "paper_original": True, "sha256": hashlib.sha256(RESULT).hexdigest()}

    download = http.get(suite.url("intake", f"/v1/dossiers/{code}/result.pdf"), headers=citizen, timeout=10)
    assert download.status_code == 200, download.text
    assert download.content == RESULT and download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="ket-qua-{code}.pdf"'
    # Processing itself still refuses the file to anyone without an officer token or a valid link.
    bare = http.get(suite.url("processing", f"/v1/files/{uploaded.json()['id']}"), timeout=10)
    assert bare.status_code == 401
