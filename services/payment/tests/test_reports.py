"""GET /v1/reports/daily: one agency's day of orders, payments, refunds, mismatches and totals, JSON or CSV;
and the order's history on GET /v1/payments/{code}."""
import csv
import io
from datetime import datetime, timezone

import pytest

from servicekit.auth import issue_token

from payment import jobs
from payment.models import payment_orders, reconciliation_flags

AGENCY = "000.00.06.H56"


def auth(settings, agency=AGENCY, role="clerk"):
    return {"Authorization": "Bearer " + issue_token(settings.kit, sub="officer-1", role=role, agency=agency)}


def at(db, code, **moments):
    with db.transaction() as conn:
        conn.execute(payment_orders.update().where(payment_orders.c.dossier_code == code).values(**moments))


@pytest.fixture
def day(db, payment, app_client, post_callback, make_callback, dossier_submitted):
    """24/11/2026 in Vietnam: two orders opened, one paid, one paid with the wrong amount, one free; plus an
    order of another agency and one from the day before (UTC 23/11 16:59 is 23:59 in Vietnam)."""
    paid = payment.open_order(dossier_submitted, code="000.00.06.H56-261124-0001")
    wrong = payment.open_order(dossier_submitted, code="000.00.06.H56-261124-0002", fee_vnd=30000)
    payment.open_order(dossier_submitted, code="000.00.06.H56-261124-0003", fee_vnd=0, fee_mode="none")
    payment.open_order(dossier_submitted, code="000.00.06.H56-261123-0009")
    payment.deliver("dossier.submitted.v1", {**dossier_submitted(code="000.00.07.H56-261124-0001", fee_vnd=70000,
                                                                 fee_mode="before"),
                                             "agency": {"code": "000.00.07.H56"}})
    post_callback(app_client, make_callback(paid, paid_at="2026-11-24T03:00:00.000Z"))
    post_callback(app_client, make_callback(wrong, amount_vnd=3000))
    post_callback(app_client, {"event_id": "evt-stray", "reference": "MCSTRAY00001", "amount_vnd": 10000,
                               "result_code": "00", "bank_txn_id": "TXNSTRAY", "paid_at": "2026-11-24T03:00:00.000Z"})
    monday = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    for code in ("000.00.06.H56-261124-0001", "000.00.06.H56-261124-0002", "000.00.06.H56-261124-0003",
                 "000.00.07.H56-261124-0001"):
        at(db, code, created_at=monday)
    at(db, "000.00.06.H56-261123-0009", created_at=datetime(2026, 11, 23, 16, 59, tzinfo=timezone.utc))
    with db.transaction() as conn:
        conn.execute(reconciliation_flags.update().values(created_at=monday))
    return paid


def test_the_daily_report_lists_the_agencys_orders_payments_mismatches_and_totals(client, settings, day):
    response = client.get("/v1/reports/daily?date=2026-11-24", headers=auth(settings))
    assert response.status_code == 200
    report = response.get_json()
    assert (report["date"], report["from"], report["to"]) == (
        "2026-11-24", "2026-11-23T17:00:00.000Z", "2026-11-24T17:00:00.000Z")
    assert [o["dossier_code"] for o in report["orders"]] == [
        "000.00.06.H56-261124-0001", "000.00.06.H56-261124-0002", "000.00.06.H56-261124-0003"]
    payment_row, = report["payments"]
    assert (payment_row["reference"], payment_row["amount_vnd"]) == (day.reference, 50000)
    mismatch, = report["mismatches"]  # the stray payment to an unknown reference is for admins
    assert (mismatch["kind"], mismatch["expected_vnd"], mismatch["received_vnd"]) == ("amount_mismatch", 30000, 3000)
    assert report["totals"] == {
        "orders_opened": 3, "orders_payable": 2, "amount_requested_vnd": 80000, "payments": 1,
        "amount_paid_vnd": 50000, "refunds": 0, "amount_refunded_vnd": 0, "net_vnd": 50000, "mismatches": 1,
        "still_pending": 2}
    assert all(isinstance(v, int) for v in report["totals"].values())


def test_an_admin_also_sees_payments_to_unknown_references(client, settings, day):
    report = client.get("/v1/reports/daily?date=2026-11-24", headers=auth(settings, role="admin")).get_json()
    assert sorted(m["kind"] for m in report["mismatches"]) == ["amount_mismatch", "unknown_reference"]


@pytest.mark.parametrize("how", [{"query": "&format=csv"}, {"headers": {"Accept": "text/csv"}}])
def test_the_daily_report_comes_as_csv_on_request(client, settings, day, how):
    headers = auth(settings) | how.get("headers", {})
    response = client.get("/v1/reports/daily?date=2026-11-24" + how.get("query", ""), headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "payments-000.00.06.H56-2026-11-24.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["section"] for r in rows].count("order") == 3
    assert {r["status"]: r["amount_vnd"] for r in rows if r["section"] == "total"}["amount_paid_vnd"] == "50000"
    assert [r["reference"] for r in rows if r["section"] == "payment"] == [day.reference]


def test_another_agencys_officer_sees_only_their_own_day(client, settings, day):
    report = client.get("/v1/reports/daily?date=2026-11-24", headers=auth(settings, agency="000.00.07.H56")).get_json()
    assert [o["dossier_code"] for o in report["orders"]] == ["000.00.07.H56-261124-0001"]
    assert report["payments"] == [] and report["mismatches"] == []


@pytest.mark.parametrize("query", ["", "?date=24/11/2026", "?date=2026-02-30", "?date=2026-11-24&format=xml"])
def test_a_missing_or_malformed_date_or_format_is_a_422(client, settings, db, query):
    response = client.get("/v1/reports/daily" + query, headers=auth(settings))
    assert response.status_code == 422


def test_the_report_needs_an_officer_token(client, db):
    assert client.get("/v1/reports/daily?date=2026-11-24").status_code == 401


def test_an_officer_reads_the_orders_history_from_pending_to_refunded(db, client, settings, settings_with_bank,
                                                                      payment, bank_sim, bank_client, app_client,
                                                                      post_callback, dossier_submitted):
    bank = bank_sim()
    order = payment.open_order(dossier_submitted)
    paid = bank.client.post("/v1/pay", json={"qr_payload": order.qr_payload}).get_json()["transaction"]
    post_callback(app_client, {"event_id": "evt-1", "reference": order.reference, "amount_vnd": 50000,
                               "result_code": "00", "bank_txn_id": paid["bank_txn_id"], "paid_at": paid["paid_at"]})
    payment.deliver("dossier.withdrawn.v1", {"code": order.dossier_code, "agency_code": AGENCY,
                                             "reason": "Không còn nhu cầu"})
    jobs.send_refunds(db, bank_client(bank.url), settings_with_bank)
    body = client.get(f"/v1/payments/{order.dossier_code}", headers=auth(settings)).get_json()
    assert body["status"] == "refunded" and body["closed_at"] and body["bank_txn_id"] == paid["bank_txn_id"]
    assert [(h["from_status"], h["to_status"], h["cause"]) for h in body["history"]] == [
        (None, "pending", "dossier.submitted"), ("pending", "paid", "bank_callback"),
        ("paid", "refunded", "dossier.withdrawn")]
    assert body["history"][-1]["detail"] == f"RF-{order.reference}: Hồ sơ đã được rút: Không còn nhu cầu"
