"""The agency's monthly statement (JSON and CSV): shipments dispatched, operator cost, citizen price, exemptions,
subsidy; and the stuck-shipment sweep behind the alert."""
import csv
import io
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from prometheus_client import REGISTRY

from servicekit.auth import issue_token
from servicekit.testing import deliver_event

from postal.handlers import SUBSCRIPTION
from postal.models import inbox, shipments
from postal.worker import sweep_stuck

AGENCY = "000.00.06.H56"


def auth(settings, agency=AGENCY, role="leader"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="officer-1", role=role, agency=agency)}


def dispatch(db, code, result_ready, dossier_submitted, **delivery):
    deliver_event(db, inbox, SUBSCRIPTION, "postal", "dossier.submitted.v1", dossier_submitted(code=code, **delivery))
    deliver_event(db, inbox, SUBSCRIPTION, "postal", "dossier.result_ready.v1", result_ready(code=code))


def set_dispatched_at(db, code, moment):
    with db.transaction() as conn:
        conn.execute(shipments.update().where(shipments.c.dossier_code == code)
                     .values(dispatched_at=moment, updated_at=moment))


def month_of_shipments(db, result_ready, dossier_submitted):
    dispatch(db, "D-1", result_ready, dossier_submitted)  # same ward: 26,000 / 10,000
    dispatch(db, "D-2", result_ready, dossier_submitted, province="Hà Nội", commune="Phường Hoàn Kiếm",
             exemption="half")  # Phú Thọ -> Hà Nội, one region: 30,500 / 5,000
    dispatch(db, "D-3", result_ready, dossier_submitted, province="Đà Nẵng", commune="Phường Hải Châu",
             exemption="free", fee_transfer=True)  # another region: 31,000 + 8,000 / 0 + 8,000
    dispatch(db, "D-4", result_ready, dossier_submitted)  # next month
    # 1 November 00:30 in Vietnam is still 31 October in UTC: the statement follows the agency's calendar.
    set_dispatched_at(db, "D-1", datetime(2026, 10, 31, 17, 30, tzinfo=timezone.utc))
    set_dispatched_at(db, "D-2", datetime(2026, 11, 15, 3, 0, tzinfo=timezone.utc))
    set_dispatched_at(db, "D-3", datetime(2026, 11, 30, 16, 59, tzinfo=timezone.utc))
    set_dispatched_at(db, "D-4", datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc))
    with db.transaction() as conn:  # D-2 delivered (its 5,000 collected), D-3 returned to sender
        conn.execute(shipments.update().where(shipments.c.dossier_code == "D-2").values(status="delivered"))
        conn.execute(shipments.update().where(shipments.c.dossier_code == "D-3").values(status="returned_to_sender"))


def test_the_statement_totals_the_months_shipments_and_the_agencys_subsidy(client, seeded_db, settings, result_ready,
                                                                          dossier_submitted):
    month_of_shipments(seeded_db, result_ready, dossier_submitted)
    response = client.get(f"/v1/statements/{AGENCY}/2026-11", headers=auth(settings))
    assert response.status_code == 200
    body = response.get_json()
    assert [s["dossier_code"] for s in body["shipments"]] == ["D-1", "D-2", "D-3"]
    assert [(s["zone"], s["operator_vnd"], s["citizen_vnd"], s["subsidy_vnd"]) for s in body["shipments"]] == [
        ("intra_district", 26000, 10000, 16000), ("intra_region", 30500, 5000, 25500),
        ("inter_region", 39000, 8000, 31000)]
    assert body["totals"] == {"shipments": 3, "operator_vnd": 95500, "citizen_vnd": 23000, "collected_vnd": 5000,
                              "subsidy_vnd": 72500, "exempted_vnd": 15000, "unpriced": 0}
    assert body["exemptions"] == {"none": 1, "half": 1, "free": 1}
    assert body["statuses"] == {"dispatched": 1, "delivered": 1, "returned_to_sender": 1}
    assert (body["from"], body["to"]) == ("2026-10-31T17:00:00.000Z", "2026-11-30T17:00:00.000Z")


def test_the_statement_as_csv_has_a_line_per_shipment_and_a_total(client, seeded_db, settings, result_ready,
                                                                 dossier_submitted):
    month_of_shipments(seeded_db, result_ready, dossier_submitted)
    response = client.get(f"/v1/statements/{AGENCY}/2026-11?format=csv", headers=auth(settings))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "postal-statement-000.00.06.H56-2026-11.csv" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0][:2] == ["tracking_no", "dossier_code"] and lines[0][-3:] == ["operator_vnd", "citizen_vnd",
                                                                                  "subsidy_vnd"]
    assert [line[1] for line in lines[1:-1]] == ["D-1", "D-2", "D-3"]
    assert lines[-1][0] == "TOTAL" and lines[-1][-3:] == ["95500", "23000", "72500"]
    by_accept = client.get(f"/v1/statements/{AGENCY}/2026-11", headers={**auth(settings), "Accept": "text/csv"})
    assert by_accept.mimetype == "text/csv"


def test_another_agencys_statement_is_forbidden_and_a_bad_month_is_a_422(client, settings):
    other = client.get(f"/v1/statements/{AGENCY}/2026-11", headers=auth(settings, agency="000.00.07.H56"))
    assert other.status_code == 403
    assert client.get(f"/v1/statements/{AGENCY}/2026-11").status_code == 401
    for month in ("2026-13", "2026-1", "november"):
        bad = client.get(f"/v1/statements/{AGENCY}/{month}", headers=auth(settings))
        assert bad.status_code == 422 and "month" in bad.get_json()["errors"]["path"]


def test_an_empty_month_is_an_empty_statement(client, seeded_db, settings):
    body = client.get(f"/v1/statements/{AGENCY}/2026-01", headers=auth(settings)).get_json()
    assert body["shipments"] == [] and body["totals"]["shipments"] == 0


def test_shipments_under_way_without_news_are_counted_as_stuck(seeded_db, settings, result_ready, dossier_submitted):
    dispatch(seeded_db, "S-1", result_ready, dossier_submitted)
    dispatch(seeded_db, "S-2", result_ready, dossier_submitted)
    long_ago = datetime.now(timezone.utc) - timedelta(hours=settings.stuck_hours + 1)
    set_dispatched_at(seeded_db, "S-1", long_ago)
    counts = sweep_stuck(seeded_db, settings)
    assert counts["dispatched"] == 1 and sum(counts.values()) == 1
    assert REGISTRY.get_sample_value("motcua_shipments_stuck", {"status": "dispatched"}) == 1
    with seeded_db.transaction(readonly=True) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(shipments)).scalar_one() == 2


def test_the_subsidy_counter_grows_by_operator_minus_citizen_at_dispatch(seeded_db, result_ready, dossier_submitted):
    before = REGISTRY.get_sample_value("motcua_postal_subsidy_vnd_total") or 0
    dispatch(seeded_db, "C-1", result_ready, dossier_submitted)
    assert REGISTRY.get_sample_value("motcua_postal_subsidy_vnd_total") - before == 16000
