import sqlalchemy as sa

from servicekit.testing import deliver_event

from processing.handlers import SUBSCRIPTION
from processing.models import audit_entries, cases, inbox


def count(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_submitted_dossier_opens_a_case_with_an_audit_entry(db, dossier_submitted):
    outcome = deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    assert outcome == "ok"
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases)).one()
        audit = conn.execute(sa.select(audit_entries)).one()
    assert case.status == "submitted" and case.agency_code == "000.00.06.H56"
    assert audit.actor == "system:dossier.submitted.v1" and audit.to_status == "submitted"


def test_same_event_delivered_twice_opens_one_case(db, dossier_submitted):
    data = dossier_submitted()
    assert deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", data, event_id="e-1") == "ok"
    assert deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", data, event_id="e-1") == "duplicate"
    assert count(db, cases) == 1 and count(db, audit_entries) == 1


def test_same_dossier_republished_under_a_new_event_id_opens_one_case(db, dossier_submitted):
    data = dossier_submitted()
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", data, event_id="e-1")
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", data, event_id="e-2")
    assert count(db, cases) == 1


def notice(**overrides):
    data = {"message_id": "5f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a11", "dossier_code": "000.00.06.H56-261124-0001",
            "kind": "dossier.submitted", "channel": "sms", "attempts": 1, "sent_at": "2026-11-24T02:00:00.041Z"}
    data.update(overrides)
    return data


def audit_actions(db):
    with db.transaction(readonly=True) as conn:
        return [row.action for row in conn.execute(sa.select(audit_entries).order_by(audit_entries.c.id))]


def test_sms_sent_to_the_citizen_appears_in_the_audit_trail_once(db, dossier_submitted):
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    for _ in range(2):
        deliver_event(db, inbox, SUBSCRIPTION, "processing", "notification.sent.v1", notice(), event_id="n-1")
    assert audit_actions(db) == ["open", "notified"]


def test_the_audit_trail_says_in_vietnamese_what_the_citizen_was_told_keeping_the_kind_for_reference(
        db, dossier_submitted):
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "notification.sent.v1", notice(kind="dossier.returned"),
                  event_id="n-1")
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "notification.sent.v1",
                  notice(kind="dossier.something_new", message_id="6f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a12"),
                  event_id="n-2")
    with db.transaction(readonly=True) as conn:
        notes = conn.execute(sa.select(audit_entries.c.note).where(audit_entries.c.action == "notified")
                             .order_by(audit_entries.c.id)).scalars().all()
    assert notes == ["Đã gửi thông báo SMS cho người nộp: đã trả kết quả (dossier.returned)",
                     "Đã gửi thông báo SMS cho người nộp (dossier.something_new)"]  # a kind without a label yet


def test_failed_notification_is_audited_with_its_reason(db, dossier_submitted):
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "dossier.submitted.v1", dossier_submitted())
    deliver_event(db, inbox, SUBSCRIPTION, "processing", "notification.failed.v1",
                  notice(reason="gave up after 5 attempts: HTTP 503", failed_at="2026-11-24T02:01:02.500Z"))
    with db.transaction(readonly=True) as conn:
        note = conn.execute(sa.select(audit_entries.c.note).where(audit_entries.c.action == "notify_failed")).scalar_one()
    assert "HTTP 503" in note


def test_notification_overtaking_its_dossier_is_retried_later_not_lost(db):
    import pytest

    from processing.use_cases import CaseNotOpenedYet

    with pytest.raises(CaseNotOpenedYet):
        deliver_event(db, inbox, SUBSCRIPTION, "processing", "notification.sent.v1", notice(), event_id="n-2")
    assert count(db, inbox) == 0  # rolled back: the retried delivery is not mistaken for a duplicate


# ---- the events of EVENTS.md --------------------------------------------------------------------------
CODE = "000.00.06.H56-261124-0001"


def deliver(db, type_, data, event_id=None):
    return deliver_event(db, inbox, SUBSCRIPTION, "processing", type_, data, event_id=event_id)


def status_of(db, code=CODE):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(cases.c.status).where(cases.c.code == code)).scalar_one()


def outbox_types(db):
    from processing.models import outbox

    with db.transaction(readonly=True) as conn:
        return [r.type for r in conn.execute(sa.select(outbox.c.type).order_by(outbox.c.id))]


def fee_before(dossier_submitted, fee=50000, mode="before"):
    return dossier_submitted(procedure={"code": "1.000948.H38", "name": "Cấp phép", "processing_days": 3,
                                        "fee_vnd": fee, "fee_mode": mode, "level": "full_online",
                                        "result_is_paper": True,
                                        "documents": [{"code": "GKS", "name": "Giấy chứng sinh", "required": True}]})


def paid(**overrides):
    data = {"dossier_code": CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A", "amount_vnd": 50000,
            "paid_at": "2026-11-24T03:00:00.000Z", "bank_txn_id": "FT1", "method": "online"}
    data.update(overrides)
    return data


def test_submitted_dossier_keeps_what_the_national_sync_needs(db, dossier_submitted):
    data = fee_before(dossier_submitted, fee=0, mode="none")
    data["applicant"].update(id_number="001190012345", email="anh@example.vn", address="12 Trần Phú")
    data["documents"] = [{"code": "GKS", "name": "Giấy chứng sinh", "upload_id": "u1", "filename": "gks.pdf",
                          "sha256": "0" * 64, "size": 10}]
    deliver(db, "dossier.submitted.v1", data)
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases)).one()
    assert case.applicant_id_number == "001190012345" and case.applicant_email == "anh@example.vn"
    assert case.procedure_level == "full_online" and case.result_is_paper is True and case.fee_mode == "none"
    assert '"upload_id": "u1"' in case.documents and "Giấy chứng sinh" in case.procedure_documents
    assert outbox_types(db) == []


def test_a_fee_paid_before_processing_opens_the_case_awaiting_payment_and_payment_moves_it_to_1(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", fee_before(dossier_submitted))
    assert status_of(db) == "awaiting_payment" and outbox_types(db) == ["dossier.payment_required.v1"]
    for _ in range(2):
        assert deliver(db, "payment.completed.v1", paid(), event_id="p-1") in ("ok", "duplicate")
    deliver(db, "payment.completed.v1", paid(), event_id="p-2")  # re-published under a new id: no second edge
    assert status_of(db) == "submitted"
    assert outbox_types(db) == ["dossier.payment_required.v1", "dossier.payment_received.v1"]


def test_payment_expired_stops_a_dossier_awaiting_payment_once(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", fee_before(dossier_submitted))
    expired = {"dossier_code": CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
               "amount_vnd": 50000, "expired_at": "2026-11-27T02:00:00.000Z"}
    assert deliver(db, "payment.expired.v1", expired, event_id="x-1") == "ok"
    assert deliver(db, "payment.expired.v1", expired, event_id="x-1") == "duplicate"
    deliver(db, "payment.expired.v1", expired, event_id="x-2")
    assert status_of(db) == "stopped"
    assert outbox_types(db) == ["dossier.payment_required.v1", "dossier.stopped.v1"]
    # A payment that completes after the expiry moved the dossier on changes no status.
    deliver(db, "payment.completed.v1", paid(), event_id="p-late")
    assert status_of(db) == "stopped"


def test_payment_arriving_before_its_dossier_is_retried_later(db, dossier_submitted):
    import pytest

    from processing.use_cases import CaseNotOpenedYet

    with pytest.raises(CaseNotOpenedYet):
        deliver(db, "payment.completed.v1", paid(), event_id="p-early")
    deliver(db, "dossier.submitted.v1", fee_before(dossier_submitted))
    assert deliver(db, "payment.completed.v1", paid(), event_id="p-early") == "ok"
    assert status_of(db) == "submitted"


def test_a_fee_paid_after_processing_is_marked_paid_without_an_edge(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", fee_before(dossier_submitted, mode="after"))
    assert status_of(db) == "submitted"
    for _ in range(2):
        deliver(db, "payment.completed.v1", paid(), event_id="p-1")
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases)).one()
    assert case.fee_paid is True and case.paid_online is True and outbox_types(db) == []
    assert audit_actions(db) == ["open", "fee_paid"]


def withdrawal(reason="Tôi nộp nhầm thủ tục"):
    return {"code": CODE, "agency_code": "000.00.06.H56", "reason": reason, "requested_at": "2026-11-25T02:00:00.000Z"}


def set_status(db, status, **values):
    with db.transaction() as conn:
        conn.execute(cases.update().where(cases.c.code == CODE).values(status=status, **values))


def test_withdrawal_is_accepted_from_1_2_4_5_6_once(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted())
    set_status(db, "in_review")
    for _ in range(2):
        deliver(db, "dossier.withdrawal_requested.v1", withdrawal(), event_id="w-1")
    deliver(db, "dossier.withdrawal_requested.v1", withdrawal(), event_id="w-2")
    assert status_of(db) == "withdrawn" and outbox_types(db) == ["dossier.withdrawn.v1"]


def test_withdrawal_after_a_result_is_refused_with_an_event(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted())
    set_status(db, "result_ready")
    for _ in range(2):
        deliver(db, "dossier.withdrawal_requested.v1", withdrawal(), event_id="w-1")
    assert status_of(db) == "result_ready" and outbox_types(db) == ["dossier.withdrawal_refused.v1"]


def shipment(**extra):
    data = {"dossier_code": CODE, "agency_code": "000.00.06.H56", "tracking_no": "MC000000014VN", **extra}
    return data


def test_post_delivery_returns_the_result_once(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted(delivery={"method": "post"}))
    set_status(db, "result_ready")
    delivered = shipment(delivered_at="2026-11-28T03:00:00.000Z")
    for _ in range(2):
        deliver(db, "shipment.delivered.v1", delivered, event_id="d-1")
    deliver(db, "shipment.delivered.v1", delivered, event_id="d-2")
    assert status_of(db) == "returned" and outbox_types(db) == ["dossier.returned.v1"]


def test_failed_delivery_leaves_the_result_ready_flagged_for_the_clerk(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted(delivery={"method": "post"}))
    set_status(db, "result_ready")
    failed = shipment(status="returned_to_sender", reason="Người nhận vắng nhà 3 lần", at="2026-11-28T03:00:00.000Z")
    for _ in range(2):
        deliver(db, "shipment.failed.v1", failed, event_id="f-1")
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases)).one()
    assert case.status == "result_ready" and case.delivery_failed is True
    assert audit_actions(db) == ["open", "delivery_failed"] and outbox_types(db) == []


def test_a_rating_is_kept_once_for_the_766_satisfaction_indicator(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted())
    set_status(db, "returned")
    rating = {"code": CODE, "agency_code": "000.00.06.H56", "score": 2, "comment": "Chậm",
              "rated_at": "2026-11-29T02:00:00.000Z"}
    for event_id in ("r-1", "r-1", "r-2"):
        deliver(db, "dossier.rated.v1", rating, event_id=event_id)
    with db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(cases.c.rating_score)).scalar_one() == 2
    assert audit_actions(db) == ["open", "rated"]


def test_a_supplement_delivered_twice_or_after_the_case_resumed_changes_nothing_more(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted())
    set_status(db, "supplement_requested", supplement_from_status="submitted", supplement_count=1)
    data = {"code": CODE, "agency_code": "000.00.06.H56", "documents": [], "note": "Đã bổ sung",
            "supplemented_at": "2026-11-25T02:00:00.000Z"}
    for event_id in ("s-1", "s-1", "s-2"):
        deliver(db, "dossier.supplemented.v1", data, event_id=event_id)
    assert status_of(db) == "submitted" and outbox_types(db) == ["dossier.supplement_received.v1"]


def test_a_failure_report_arriving_after_the_delivery_changes_nothing(db, dossier_submitted):
    deliver(db, "dossier.submitted.v1", dossier_submitted(delivery={"method": "post"}))
    set_status(db, "result_ready")
    deliver(db, "shipment.delivered.v1", shipment(delivered_at="2026-11-28T03:00:00.000Z"), event_id="d-1")
    deliver(db, "shipment.failed.v1", shipment(status="returned_to_sender", reason="Sai địa chỉ",
                                               at="2026-11-27T03:00:00.000Z"), event_id="f-1")
    with db.transaction(readonly=True) as conn:
        case = conn.execute(sa.select(cases)).one()
    assert case.status == "returned" and case.delivery_failed is False
    assert outbox_types(db) == ["dossier.returned.v1"]


def test_a_notice_written_while_an_officer_moved_the_case_shows_the_status_of_the_step_before_it(db, make_case):
    """Found by tests/test_paths.py on PostgreSQL: a notice's handler reads the case without a lock; an officer's
    transition can commit between that read and the notice's audit row, which then carried the old status after the
    new one ("in review" below "result ready"). The trail shows each note in the status of the step before it."""
    from processing import queries, use_cases

    code = make_case(status="received")
    with db.transaction() as conn:
        stale = queries.get_case(conn, code)  # the notice's handler read the case here...
    with db.transaction() as conn:  # ...an officer's transition commits...
        use_cases.transition(conn, queries.get_case(conn, code), action="assign", actor="leader-1",
                             to_status="in_review", note="Phân công")
    with db.transaction() as conn:  # ...and then the notice's row is written from what the handler read
        use_cases.audit_only(conn, stale, action="notified", actor="system:notification.sent.v1",
                             note="Đã gửi thông báo SMS cho người nộp (received)")
    with db.transaction() as conn:
        trail = use_cases.officer_view(conn, queries.get_case(conn, code),
                                       {"role": "leader", "agency": "000.00.06.H56", "sub": "leader-1"})["audit"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in trail][-2:] == [
        ("assign", "received", "in_review"), ("notified", "in_review", "in_review")]
