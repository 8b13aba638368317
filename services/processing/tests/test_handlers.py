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
