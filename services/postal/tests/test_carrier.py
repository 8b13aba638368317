"""The postal operator's status reports: signed, kept as history, never moving a shipment back, duplicates and
reports for unknown tracking numbers answered without effect; shipment.* published for the ones that count."""
import json
import time

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit.auth import issue_token
from servicekit.signing import sign
from servicekit.testing import deliver_event

from postal.handlers import SUBSCRIPTION
from postal.models import inbox, outbox, shipments, tracking_events

from .conftest import WEBHOOK_SECRET

CODE = "000.00.06.H56-261124-0001"


def post(client, body, secret=WEBHOOK_SECRET, timestamp=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/v1/carrier/events", data=data, content_type="application/json",
                       headers={"X-Motcua-Signature": sign(data, secret, timestamp)})


@pytest.fixture
def dispatched(seeded_db, dossier_submitted, result_ready):
    """A shipment whose order went to the operator; returns its tracking number."""
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.result_ready.v1", result_ready())
    with seeded_db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(shipments.c.tracking_no)).scalar_one()


def report(tracking_no, status, at, event_id=None, note=None):
    return {"event_id": event_id or f"{status}-{at}", "tracking_no": tracking_no, "status": status,
            "at": at, "note": note}


def state(db):
    with db.transaction(readonly=True) as conn:
        shipment = conn.execute(sa.select(shipments)).one()
        events = [json.loads(r.body)["data"] | {"type": r.type}
                  for r in conn.execute(sa.select(outbox).where(outbox.c.type.like("shipment.%"))
                                        .where(outbox.c.type.notin_(["shipment.created.v1", "shipment.dispatched.v1"]))
                                        .order_by(outbox.c.id))]
        history = conn.execute(sa.select(tracking_events).where(tracking_events.c.source == "carrier")
                               .order_by(tracking_events.c.id)).all()
    return shipment, events, history


def test_reports_in_order_move_the_shipment_to_delivered_and_publish_each_step(client, seeded_db, dispatched):
    steps = [("accepted", "2026-11-26T03:10:00.000Z"), ("picked_up", "2026-11-26T05:00:00.000Z"),
             ("in_transit", "2026-11-26T09:00:00.000Z"), ("delivered", "2026-11-27T02:30:00.000Z")]
    for status, at in steps:
        response = post(client, report(dispatched, status, at, note="Bưu tá: Nguyễn Văn A"))
        assert response.status_code == 200
        assert response.get_json() == {"event_id": f"{status}-{at}", "tracking_no": dispatched, "outcome": "applied",
                                       "shipment_status": status}
    shipment, events, history = state(seeded_db)
    assert (shipment.status, shipment.closed_at is not None) == ("delivered", True)
    assert [e["type"] for e in events] == ["shipment.progressed.v1"] * 3 + ["shipment.delivered.v1"]
    assert events[-1] == {"type": "shipment.delivered.v1", "dossier_code": CODE, "agency_code": "000.00.06.H56",
                          "tracking_no": dispatched, "delivered_at": "2026-11-27T02:30:00.000Z"}
    assert [h.outcome for h in history] == ["applied"] * 4


def test_duplicated_and_out_of_order_reports_leave_the_latest_true_state(client, seeded_db, dispatched):
    sent = [
        report(dispatched, "picked_up", "2026-11-26T05:00:00.000Z", "e2"),
        report(dispatched, "picked_up", "2026-11-26T05:00:00.000Z", "e2"),  # duplicate
        report(dispatched, "accepted", "2026-11-26T03:10:00.000Z", "e1"),  # older, arrives late
        report(dispatched, "delivered", "2026-11-27T02:30:00.000Z", "e4"),
        report(dispatched, "in_transit", "2026-11-26T09:00:00.000Z", "e3"),  # after the ending
        report(dispatched, "delivered", "2026-11-27T02:30:00.000Z", "e4"),  # duplicate of the ending
    ]
    outcomes = [post(client, body).get_json()["outcome"] for body in sent]
    assert outcomes == ["applied", "duplicate", "stale", "applied", "after_close", "duplicate"]
    shipment, events, history = state(seeded_db)
    assert shipment.status == "delivered"
    assert [(e["type"], e.get("status")) for e in events] == [("shipment.progressed.v1", "picked_up"),
                                                              ("shipment.delivered.v1", None)]
    # Every distinct report is kept, in arrival order, with what it did.
    assert [(h.event_id, h.status, h.outcome) for h in history] == [
        ("e2", "picked_up", "applied"), ("e1", "accepted", "stale"), ("e4", "delivered", "applied"),
        ("e3", "in_transit", "after_close")]


def test_a_second_failed_attempt_is_news_and_return_to_sender_publishes_shipment_failed(client, seeded_db,
                                                                                        dispatched):
    for body in (report(dispatched, "in_transit", "2026-11-26T09:00:00.000Z"),
                 report(dispatched, "failed_attempt", "2026-11-27T02:00:00.000Z", note="Vắng nhà"),
                 report(dispatched, "failed_attempt", "2026-11-28T02:00:00.000Z", note="Vắng nhà lần 2"),
                 report(dispatched, "in_transit", "2026-11-28T06:00:00.000Z", "late-transit"),
                 report(dispatched, "returned_to_sender", "2026-11-30T08:00:00.000Z", note="Người nhận vắng nhà 3 lần")):
        assert post(client, body).status_code == 200
    shipment, events, history = state(seeded_db)
    assert shipment.status == "returned_to_sender"
    assert [e.get("status") for e in events] == ["in_transit", "failed_attempt", "failed_attempt",
                                                 "returned_to_sender"]
    assert events[-1] == {"type": "shipment.failed.v1", "dossier_code": CODE, "agency_code": "000.00.06.H56",
                          "tracking_no": dispatched, "status": "returned_to_sender",
                          "reason": "Người nhận vắng nhà 3 lần", "at": "2026-11-30T08:00:00.000Z"}
    assert [h.outcome for h in history] == ["applied", "applied", "applied", "stale", "applied"]


def test_a_report_for_an_unknown_tracking_number_is_recorded_and_changes_nothing(client, seeded_db, dispatched):
    response = post(client, report("MC999999990VN", "delivered", "2026-11-27T02:30:00.000Z", "ghost"))
    assert response.status_code == 200
    assert response.get_json() == {"event_id": "ghost", "tracking_no": "MC999999990VN",
                                   "outcome": "unknown_tracking_no", "shipment_status": None}
    shipment, events, _ = state(seeded_db)
    with seeded_db.transaction(readonly=True) as conn:
        kept = conn.execute(sa.select(tracking_events).where(tracking_events.c.event_id == "ghost")).one()
    assert (shipment.status, events, kept.shipment_id, kept.outcome) == ("dispatched", [], None, "unknown_tracking_no")


def test_a_report_before_dispatch_is_kept_without_effect(client, seeded_db, dossier_submitted):
    deliver_event(seeded_db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted())
    shipment, _, _ = state(seeded_db)
    answer = post(client, report(shipment.tracking_no, "accepted", "2026-11-26T03:10:00.000Z")).get_json()
    assert (answer["outcome"], answer["shipment_status"]) == ("not_dispatched", "awaiting_result")


def test_delivered_shipments_are_counted_by_status(client, seeded_db, dispatched):
    before = REGISTRY.get_sample_value("motcua_shipments_total", {"status": "delivered"}) or 0
    post(client, report(dispatched, "delivered", "2026-11-27T02:30:00.000Z", "d1"))
    post(client, report(dispatched, "delivered", "2026-11-27T02:30:00.000Z", "d1"))
    assert REGISTRY.get_sample_value("motcua_shipments_total", {"status": "delivered"}) - before == 1


def test_the_officer_sees_the_whole_history_from_dispatch_to_delivery(client, seeded_db, settings, dispatched):
    post(client, report(dispatched, "accepted", "2026-11-26T03:10:00.000Z"))
    post(client, report(dispatched, "delivered", "2026-11-27T02:30:00.000Z"))
    token = issue_token(settings.kit, sub="officer-1", role="clerk", agency="000.00.06.H56")
    body = client.get(f"/v1/shipments/{CODE}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [(h["status"], h["source"]) for h in body["history"]] == [
        ("awaiting_result", "postal"), ("dispatched", "postal"), ("accepted", "carrier"), ("delivered", "carrier")]


def test_the_same_report_posted_concurrently_is_applied_once(settings, seeded_db, dispatched):
    from concurrent.futures import ThreadPoolExecutor

    from postal.app import create_app

    app = create_app(settings)
    body = report(dispatched, "delivered", "2026-11-27T02:30:00.000Z", "race-1")
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: post(app.test_client(), body), range(12)))
    assert {a.status_code for a in answers} == {200}
    assert sorted(a.get_json()["outcome"] for a in answers) == ["applied"] + ["duplicate"] * 11
    shipment, events, history = state(seeded_db)
    assert shipment.status == "delivered" and len(events) == 1 and len(history) == 1


# ---- the signature, the JSON, the fields ------------------------------------------------------------

def test_a_report_signed_with_the_previous_key_is_accepted_during_a_rotation(client, dispatched):
    body = report(dispatched, "accepted", "2026-11-26T03:10:00.000Z")
    assert post(client, body, secret="previous-secret").status_code == 200


# The stale case's timestamp is taken when the test runs, not at collection: test ids must be the same
# in every pytest-xdist worker.
@pytest.mark.parametrize("secret, age_seconds", [("wrong-secret", None), (WEBHOOK_SECRET, 301)], ids=["wrong", "stale"])
def test_a_wrong_or_stale_signature_is_a_401_and_nothing_is_recorded(client, seeded_db, dispatched, secret, age_seconds):
    timestamp = int(time.time()) - age_seconds if age_seconds else None
    response = post(client, report(dispatched, "delivered", "2026-11-27T02:30:00.000Z"), secret, timestamp)
    assert response.status_code == 401
    assert state(seeded_db)[2] == [] and state(seeded_db)[0].status == "dispatched"


def test_a_missing_signature_is_a_401(client):
    response = client.post("/v1/carrier/events", json={"event_id": "x"})
    assert response.status_code == 401


def test_a_signed_body_that_is_not_json_is_a_400(client):
    assert post(client, None, raw=b"{not json").status_code == 400


@pytest.mark.parametrize("change, field", [
    ({"status": "lost"}, "status"), ({"at": "yesterday"}, "at"), ({"at": "2026-11-27T02:30:00"}, "at"),
    ({"event_id": ""}, "event_id"), ({"tracking_no": None}, "tracking_no"),
])
def test_a_report_with_a_bad_field_is_a_422_naming_it(client, dispatched, change, field):
    body = {**report(dispatched, "delivered", "2026-11-27T02:30:00.000Z"), **change}
    response = post(client, body)
    assert response.status_code == 422 and field in response.get_json()["errors"]["json"]
