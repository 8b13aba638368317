"""Officer actions over HTTP: a dossier from filing to result, events and audit, bad input, concurrency."""
import threading
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from servicekit.testing import deliver_event

from processing import use_cases
from processing.calendar import WorkingCalendar
from processing.handlers import SUBSCRIPTION
from processing.models import audit_entries, cases, inbox, outbox

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload_pdf(client, headers, content=PDF_BYTES):
    import io

    return client.post("/v1/files", data={"file": (io.BytesIO(content), "ket-qua.pdf")},
                       headers=headers("specialist"), content_type="multipart/form-data")


def test_a_dossier_goes_from_filing_to_result_with_one_event_per_edge_and_increasing_seq(
        client, db, headers, dossier_submitted, outbox_events, audit):
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    code = "000.00.06.H56-261124-0001"
    steps = [
        ("receive", {}, "clerk"),
        ("assign", {"assignee": "specialist-1"}, "leader"),
        ("submit-for-approval", {"summary": "Đủ điều kiện"}, "specialist"),
        ("approve", {}, "leader"),
    ]
    for action, body, role in steps:
        response = client.post(f"/v1/dossiers/{code}/{action}", json=body, headers=headers(role))
        assert response.status_code == 200, response.get_json()
    file = upload_pdf(client, headers)
    assert file.status_code == 201
    issued = client.post(f"/v1/dossiers/{code}/issue-result",
                         json={"result_file_id": file.get_json()["id"], "paper_original": False},
                         headers=headers("specialist"))
    assert issued.status_code == 200 and issued.get_json()["allowed_actions"] == []
    returned = client.post(f"/v1/dossiers/{code}/return-result", json={}, headers=headers("clerk"))
    assert returned.get_json()["status"] == "returned" and returned.get_json()["status_code"] == 10
    events = outbox_events(code)
    assert [t for t, _ in events] == [
        "dossier.received.v1", "dossier.assigned.v1", "dossier.approval_requested.v1", "dossier.approved.v1",
        "dossier.result_ready.v1", "dossier.returned.v1"]
    assert [d["seq"] for _, d in events] == [1, 2, 3, 4, 5, 6]
    for _, data in events:
        assert {"code", "agency_code", "procedure_code", "status", "status_code", "at", "seq", "actor"} <= set(data)
    received = events[0][1]
    assert received["processing_days"] == 3 and received["received_by"] == "clerk-1" and received["due_at"]
    ready = events[4][1]
    assert ready["result_sha256"] == file.get_json()["sha256"] and ready["paper_original"] is False
    assert ready["delivery_method"] == "counter" and ready["fee_mode"] == "none"
    trail = audit(code)
    assert [a.action for a in trail] == ["open", "receive", "assign", "submit-for-approval", "approve",
                                        "issue-result", "return-result"]
    assert all(a.note for a in trail)


def test_unknown_and_missing_fields_are_a_422_naming_them_and_nothing_is_written(client, headers, make_case, case_of):
    code = make_case(status="submitted")
    response = client.post(f"/v1/dossiers/{code}/refuse", json={"reasn": "x"}, headers=headers("clerk"))
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert "reasn" in errors and "reason" in errors
    past = client.post(f"/v1/dossiers/{code}/request-supplement",
                       json={"reason": "Thiếu", "documents": ["GKS"], "deadline": "2020-01-01"}, headers=headers("clerk"))
    assert past.status_code == 422 and "deadline" in past.get_json()["errors"]["json"]
    unknown_doc = client.post(f"/v1/dossiers/{code}/request-supplement",
                              json={"reason": "Thiếu", "documents": ["XYZ"],
                                    "deadline": (date.today() + timedelta(days=5)).isoformat()},
                              headers=headers("clerk"))
    assert unknown_doc.status_code == 422 and "documents" in unknown_doc.get_json()["errors"]["json"]
    assert case_of(code).version == 1


def test_unknown_action_and_another_agencys_dossier_are_404(client, headers, make_case):
    mine = make_case(status="submitted")
    theirs = make_case(status="submitted", agency="000.00.07.H56")
    assert client.post(f"/v1/dossiers/{mine}/fly", json={}, headers=headers("clerk")).status_code == 404
    other = client.post(f"/v1/dossiers/{theirs}/receive", json={}, headers=headers("clerk"))
    unknown = client.post("/v1/dossiers/nope/receive", json={}, headers=headers("clerk"))
    assert other.status_code == unknown.status_code == 404


def test_forged_or_expired_tokens_are_401(client, settings, make_case):
    import jwt

    code = make_case(status="submitted")
    assert client.post(f"/v1/dossiers/{code}/receive", json={}).status_code == 401
    expired = jwt.encode({"sub": "c", "role": "clerk", "agency": "000.00.06.H56", "exp": 1}, settings.kit.jwt_secret)
    response = client.post(f"/v1/dossiers/{code}/receive", json={}, headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    forged = jwt.encode({"sub": "c", "role": "clerk", "agency": "000.00.06.H56", "exp": 9999999999}, "a-wrong-secret-that-is-long-enough-for-hs256!")
    assert client.post(f"/v1/dossiers/{code}/receive", json={},
                       headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_two_officers_acting_at_once_make_one_transition(client, db, headers, make_case, outbox_events):
    for attempt in range(5):
        code = make_case(status="submitted")
        barrier = threading.Barrier(2)
        results = []

        def act(action, body):
            barrier.wait()
            results.append(client.post(f"/v1/dossiers/{code}/{action}", json=body, headers=headers("clerk")).status_code)

        threads = [threading.Thread(target=act, args=("receive", {})),
                   threading.Thread(target=act, args=("refuse", {"reason": "Không thuộc thẩm quyền"}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 409], results
        assert len(outbox_events(code)) == 1
        with db.transaction(readonly=True) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(audit_entries).join(cases)
                                .where(cases.c.code == code)).scalar_one() == 1


def test_a_write_from_a_stale_read_is_refused_not_applied_twice(db, make_case):
    code = make_case(status="submitted")
    with db.transaction(readonly=True) as conn:
        stale = conn.execute(sa.select(cases).where(cases.c.code == code)).one()
    with db.transaction() as conn:
        use_cases.transition(conn, stale, action="receive", actor="clerk-1", note="Tiếp nhận", to_status="received",
                             event="dossier.received.v1",
                             extra={"received_at": "2026-11-24T02:00:00.000Z", "due_at": "2026-11-27T02:00:00.000Z",
                                    "processing_days": 3, "received_by": "clerk-1"})
    try:
        with db.transaction() as conn:
            use_cases.transition(conn, stale, action="refuse", actor="clerk-2", note="Từ chối", to_status="refused",
                                 event="dossier.refused.v1", extra={"reason": "x", "cause": "officer"})
        raise AssertionError("the stale write went through")
    except use_cases.StaleCase:
        pass
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 1
        assert conn.execute(sa.select(cases.c.status).where(cases.c.code == code)).scalar_one() == "received"


def test_supplement_pauses_the_clock_and_the_answer_moves_the_due_date_by_the_paused_time(
        db, make_case, case_of, outbox_events):
    calendar = WorkingCalendar()
    received = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # Tue 09:00 in Hà Nội
    due = calendar.due_date(received, 3)
    code = make_case(status="received", received_at=received, due_at=due)
    officer = {"sub": "clerk-1", "role": "clerk", "agency": "000.00.06.H56"}
    paused_at = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)  # Wed 09:00
    with db.transaction() as conn:
        use_cases.perform_action(conn, code=code, action_name="request-supplement", officer=officer,
                                 body={"reason": "Thiếu", "documents": ["GKS"], "deadline": date(2026, 12, 10)},
                                 calendar=calendar, now=paused_at)
    supplemented = {"code": code, "agency_code": "000.00.06.H56", "note": None,
                    "documents": [{"code": "GKS", "name": "Giấy chứng sinh", "upload_id": "u1", "filename": "gks.pdf",
                                   "sha256": "0" * 64, "size": 1}],
                    "supplemented_at": "2026-12-03T02:00:00.000Z"}  # Thu 09:00: 8 working hours later
    for _ in range(2):
        deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.supplemented.v1", supplemented, event_id="s-1")
    after = case_of(code)
    assert after.status == "received" and after.paused_at is None
    assert calendar.working_seconds_between(due, after.due_at) == 8 * 3600
    types = [t for t, _ in outbox_events(code)]
    assert types == ["dossier.supplement_requested.v1", "dossier.supplement_received.v1"]
    assert outbox_events(code)[1][1]["due_at"].startswith(after.due_at.strftime("%Y-%m-%dT%H:%M"))


def test_a_second_supplement_request_is_allowed_and_flagged(db, make_case, case_of, outbox_events, audit):
    calendar = WorkingCalendar()
    code = make_case(status="received", supplement_count=1,
                     received_at=datetime(2026, 12, 1, 2, tzinfo=timezone.utc),
                     due_at=datetime(2026, 12, 4, 2, tzinfo=timezone.utc))
    with db.transaction() as conn:
        use_cases.perform_action(conn, code=code, action_name="request-supplement",
                                 officer={"sub": "s-1", "role": "specialist", "agency": "000.00.06.H56"},
                                 body={"reason": "Còn thiếu", "documents": ["CCCD"], "deadline": date(2026, 12, 10)},
                                 calendar=calendar, now=datetime(2026, 12, 2, 2, tzinfo=timezone.utc))
    assert outbox_events(code)[0][1]["request_no"] == 2
    assert "lần thứ hai" in audit(code)[-1].note


def test_the_apology_sets_a_new_date_once_and_only_before_the_old_one_passed(db, make_case, case_of, outbox_events):
    calendar = WorkingCalendar()
    due = datetime(2026, 12, 4, 10, tzinfo=timezone.utc)  # Fri 4/12 17:00
    code = make_case(status="in_review", received_at=datetime(2026, 12, 1, 2, tzinfo=timezone.utc), due_at=due)
    leader = {"sub": "leader-1", "role": "leader", "agency": "000.00.06.H56"}
    before = datetime(2026, 12, 3, 2, tzinfo=timezone.utc)

    def apologize(day, now):
        with db.transaction() as conn:
            use_cases.perform_action(conn, code=code, action_name="apologize", officer=leader, calendar=calendar,
                                     body={"reason": "Cần xác minh", "new_due_date": day}, now=now)

    for bad_day in (date(2026, 12, 4), date(2026, 12, 5)):  # not after the current date; a Saturday
        try:
            apologize(bad_day, before)
            raise AssertionError("accepted")
        except use_cases.Invalid:
            pass
    apologize(date(2026, 12, 8), before)
    event = outbox_events(code)[-1][1]
    assert event["old_due_at"] == "2026-12-04T10:00:00.000Z" and event["new_due_at"] == "2026-12-08T10:00:00.000Z"
    try:
        apologize(date(2026, 12, 9), before)
        raise AssertionError("a second apology was accepted")
    except use_cases.Conflict:
        pass
    assert len(outbox_events(code)) == 1


def test_result_upload_takes_only_pdf_by_content_and_respects_the_size_limit(client, headers, settings, tmp_path):
    renamed_png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    response = upload_pdf(client, headers, renamed_png)
    assert response.status_code == 422 and "file" in response.get_json()["errors"]["files"]
    ok = upload_pdf(client, headers)
    import hashlib
    import os

    body = ok.get_json()
    assert ok.status_code == 201 and body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert os.path.exists(os.path.join(settings.files_dir, body["id"][:2], body["id"]))
    too_big = upload_pdf(client, headers, PDF_BYTES + b"0" * settings.max_result_bytes)
    assert too_big.status_code == 413


def test_a_result_file_is_read_back_by_its_agency_only(client, headers):
    file_id = upload_pdf(client, headers).get_json()["id"]
    mine = client.get(f"/v1/files/{file_id}", headers=headers("clerk"))
    assert mine.status_code == 200 and mine.data == PDF_BYTES and mine.mimetype == "application/pdf"
    assert client.get(f"/v1/files/{file_id}", headers=headers("clerk", agency="000.00.07.H56")).status_code == 404
    assert client.get("/v1/files/../../etc/passwd", headers=headers("clerk")).status_code == 404
