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
