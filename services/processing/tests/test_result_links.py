"""Signed, expiring links to a dossier's issued result (how intake fetches it for the citizen)."""
import io
import time

from servicekit.signing import sign_link

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(client, headers):
    answer = client.post("/v1/files", data={"file": (io.BytesIO(PDF_BYTES), "ket-qua.pdf")},
                         headers=headers("specialist"), content_type="multipart/form-data")
    assert answer.status_code == 201
    return answer.get_json()["id"]


def _issued(client, make_case, headers):
    file_id = _upload(client, headers)
    make_case(status="result_ready", result_file_id=file_id, result_sha256="0" * 64, paper_original=False)
    return file_id


def _link(file_id, secret, expires=None):
    expires = int(time.time()) + 60 if expires is None else expires
    return f"/v1/files/{file_id}?expires={expires}&sig={sign_link(file_id, expires, secret)}"


def test_a_signed_link_serves_the_issued_result_without_an_officer_token(client, make_case, headers, settings):
    file_id = _issued(client, make_case, headers)
    answer = client.get(_link(file_id, settings.file_link_secret))
    assert answer.status_code == 200 and answer.data == PDF_BYTES and answer.mimetype == "application/pdf"


def test_an_expired_link_is_refused(client, make_case, headers, settings):
    file_id = _issued(client, make_case, headers)
    answer = client.get(_link(file_id, settings.file_link_secret, expires=int(time.time()) - 1))
    assert answer.status_code == 403 and answer.mimetype.endswith("json")


def test_a_wrong_or_malformed_signature_is_refused(client, make_case, headers, settings):
    file_id = _issued(client, make_case, headers)
    expires = int(time.time()) + 60
    other_secret = client.get(_link(file_id, "another-secret-of-16-chars", expires))
    moved_expiry = client.get(f"/v1/files/{file_id}?expires={expires + 3600}"
                              f"&sig={sign_link(file_id, expires, settings.file_link_secret)}")
    other_file = client.get(f"/v1/files/{file_id}?expires={expires}"
                            f"&sig={sign_link('0' * 32, expires, settings.file_link_secret)}")
    no_sig = client.get(f"/v1/files/{file_id}?expires={expires}")
    not_hex = client.get(f"/v1/files/{file_id}?expires={expires}&sig=%C3%A9")
    for answer in (other_secret, moved_expiry, other_file, no_sig, not_hex):
        assert answer.status_code == 403, answer.get_json()
    assert client.get(f"/v1/files/{file_id}?expires=soon&sig=ab").status_code == 422


def test_a_link_never_opens_a_file_that_is_not_an_issued_result(client, make_case, headers, settings):
    draft = _upload(client, headers)  # uploaded by an officer, never issued to a dossier
    answer = client.get(_link(draft, settings.file_link_secret))
    assert answer.status_code == 404
    assert client.get(_link("0" * 32, settings.file_link_secret)).status_code == 404


def test_officer_access_is_unchanged(client, make_case, headers, settings):
    draft = _upload(client, headers)
    assert client.get(f"/v1/files/{draft}", headers=headers("clerk")).data == PDF_BYTES
    assert client.get(f"/v1/files/{draft}", headers=headers("clerk", agency="000.00.07.H56")).status_code == 404
    assert client.get(f"/v1/files/{draft}").status_code == 401
