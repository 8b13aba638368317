"""Uploads: recognised by content, size-limited, stored by unguessable id; filing checks and attaches them;
uploads never attached are swept by the worker."""
import hashlib
import io
import os
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicekit.files import FileStore
from servicekit.tables import now

from intake.models import dossiers, outbox, uploads
from intake.use_cases import sweep_uploads

# Same bytes as conftest's TINY_PDF (a conftest is not importable under --import-mode=importlib).
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
# The first bytes of real JPEG and PNG files are what `filetype` reads.
TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
TINY_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def post_file(client, content, filename="giay-to.pdf", content_type="application/pdf"):
    return client.post("/v1/uploads", data={"file": (io.BytesIO(content), filename, content_type)},
                       content_type="multipart/form-data")


def rows(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(table)).all()


def stored_files(settings):
    found = []
    for root, _dirs, files in os.walk(settings.uploads_dir):
        found.extend(os.path.join(root, name) for name in files)
    return found


@pytest.mark.parametrize("content, mime", [(TINY_PDF, "application/pdf"), (TINY_JPEG, "image/jpeg"),
                                           (TINY_PNG, "image/png")])
def test_an_upload_is_recognised_by_content_hashed_and_stored_outside_the_database(
        client, db, settings, content, mime):
    response = post_file(client, content, filename="scan", content_type="application/octet-stream")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "filename", "size", "sha256", "content_type"}
    assert body["content_type"] == mime and body["size"] == len(content) and body["filename"] == "scan"
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert len(body["id"]) == 32 and int(body["id"], 16) >= 0  # 128 random bits, hex
    assert FileStore(settings.uploads_dir).read(body["id"]) == content
    row, = rows(db, uploads)
    assert (row.id, row.dossier_code, row.size) == (body["id"], None, len(content))


def test_two_uploads_of_the_same_file_get_different_ids(client):
    first, second = (post_file(client, TINY_PDF).get_json()["id"] for _ in range(2))
    assert first != second


def test_a_fake_pdf_is_refused_by_content_whatever_its_name_and_declared_type(client, db, settings):
    fake = b"MZ\x90\x00 this is a Windows program, not a PDF" + b"\x00" * 100
    response = post_file(client, fake, filename="to-khai.pdf", content_type="application/pdf")
    assert response.status_code == 415
    assert response.get_json()["code"] == 415 and "PDF" in response.get_json()["message"]
    assert rows(db, uploads) == [] and stored_files(settings) == []


def test_a_text_file_renamed_pdf_is_refused_too(client):
    assert post_file(client, b"%PD not really\n", filename="a.pdf").status_code == 415


def test_a_file_over_the_limit_is_a_413_and_nothing_is_kept(client, db, settings):
    big = TINY_PDF + b"\x00" * (10 * 1024 * 1024 - len(TINY_PDF) + 1)  # 10 MiB + 1 byte
    response = post_file(client, big)
    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    assert rows(db, uploads) == [] and stored_files(settings) == []


def test_a_file_at_exactly_the_limit_is_taken(app, settings, db):
    from intake.app import create_app

    small = create_app(replace(settings, upload_max_bytes=1024)).test_client()
    assert post_file(small, TINY_PDF + b"\x00" * (1024 - len(TINY_PDF))).status_code == 201
    assert post_file(small, TINY_PDF + b"\x00" * (1025 - len(TINY_PDF))).status_code == 413


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(client):
    huge = b"\x00" * (10 * 1024 * 1024 + 128 * 1024)
    response = post_file(client, huge)
    assert response.status_code == 413 and response.get_json()["code"] == 413


def test_a_json_body_is_a_415(client):
    response = client.post("/v1/uploads", json={"file": "JVBERi0xLjQ="})
    assert response.status_code == 415 and response.get_json()["code"] == 415


def test_a_form_without_the_file_part_is_a_422_naming_it(client):
    response = client.post("/v1/uploads", data={"other": (io.BytesIO(TINY_PDF), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]["files"]


def test_an_empty_file_is_a_422(client):
    response = post_file(client, b"")
    assert response.status_code == 422 and "file" in response.get_json()["errors"]["files"]


def test_the_file_name_is_kept_for_display_without_path_or_hidden_characters(client):
    body = post_file(client, TINY_PDF, filename="../../etc/gi\u202eay\x07to.pdf").get_json()
    assert body["filename"] == "giayto.pdf"


# ---- filing with uploads ---------------------------------------------------------------------------------
def test_filing_attaches_each_upload_to_the_dossier_with_its_document_code(db, file_dossier, filing_body):
    body = filing_body()
    code = file_dossier(body).get_json()["code"]
    attached = {row.id: row.dossier_code for row in rows(db, uploads)}
    assert attached == {doc["upload_id"]: code for doc in body["documents"]}
    dossier, = rows(db, dossiers)
    assert [(doc["code"], doc["upload_id"]) for doc in dossier.documents] == [
        (doc["code"], doc["upload_id"]) for doc in body["documents"]]


def test_an_upload_reused_across_two_dossiers_is_a_422_naming_it_and_leaves_nothing(db, file_dossier, filing_body):
    first = filing_body()
    assert file_dossier(first).status_code == 201
    second = filing_body()
    second["documents"][1]["upload_id"] = first["documents"][1]["upload_id"]
    response = file_dossier(second)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]["documents"]
    assert list(errors) == ["1"] and "upload_id" in errors["1"]
    assert len(rows(db, dossiers)) == 1 and len(rows(db, outbox)) == 1
    # The second filing's own first upload stays free for a corrected filing.
    own = {row.id: row.dossier_code for row in rows(db, uploads)}
    assert own[second["documents"][0]["upload_id"]] is None
    second["documents"][1] = {"code": "GIAY_CHUNG_SINH", "upload_id": filing_body()["documents"][1]["upload_id"]}
    assert file_dossier(second).status_code == 201


def test_an_unknown_upload_id_is_a_422_naming_it(db, file_dossier, filing_body):
    body = filing_body()
    body["documents"][0]["upload_id"] = "0" * 32
    response = file_dossier(body)
    assert response.status_code == 422
    assert "upload_id" in response.get_json()["errors"]["json"]["documents"]["0"]
    assert rows(db, dossiers) == []


def test_one_upload_for_two_documents_of_one_filing_is_a_422(file_dossier, filing_body):
    body = filing_body()
    body["documents"][1]["upload_id"] = body["documents"][0]["upload_id"]
    response = file_dossier(body)
    assert response.status_code == 422 and "1" in response.get_json()["errors"]["json"]["documents"]


def test_a_refused_filing_attaches_nothing(db, file_dossier, filing_body):
    body = filing_body()
    body["applicant"]["id_number"] = "123"
    assert file_dossier(body).status_code == 422
    assert all(row.dossier_code is None for row in rows(db, uploads))


# ---- the sweep of uploads never attached -------------------------------------------------------------------
def test_the_sweep_removes_old_unattached_uploads_and_their_files_only(client, db, settings, upload, file_dossier):
    attached_body = file_dossier().get_json()
    old_free, young_free = upload(), upload()
    with db.transaction() as conn:
        conn.execute(uploads.update().values(created_at=now() - timedelta(hours=25)))
        conn.execute(uploads.update().where(uploads.c.id == young_free).values(created_at=now()))
    store = FileStore(settings.uploads_dir)
    assert sweep_uploads(db, store, settings) == 1
    left = {row.id: row.dossier_code for row in rows(db, uploads)}
    assert old_free not in left and young_free in left
    assert sum(1 for code in left.values() if code == attached_body["code"]) == 2
    assert not os.path.exists(store.path_of(old_free)) and os.path.exists(store.path_of(young_free))
    assert sweep_uploads(db, store, settings) == 0  # nothing more to do


def test_the_sweep_age_is_configurable(db, settings, upload):
    upload()
    with db.transaction() as conn:
        conn.execute(uploads.update().values(created_at=now() - timedelta(minutes=90)))
    store = FileStore(settings.uploads_dir)
    assert sweep_uploads(db, store, settings) == 0
    assert sweep_uploads(db, store, replace(settings, upload_max_age_hours=1)) == 1


def test_the_worker_runs_the_sweep_as_a_periodic_job(settings):
    from intake.worker import jobs

    job, = jobs(replace(settings, upload_sweep_seconds=42))
    assert (job.name, job.every_seconds) == ("sweep-uploads", 42)
