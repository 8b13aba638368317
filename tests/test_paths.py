"""Every path a real dossier takes, end to end, through one running suite per database (issue 13, part 1).

Driven only through public faces: the citizen API (intake), the officers' API (processing), the bank simulator
(the citizen scans the QR), the postal operator simulator (its reports, scripted one by one: auto delivery is off)
and the national portal simulator (what it holds). At each path's end the test checks the citizen's view and
timeline, the officer's audit trail, every SMS at the gateway and every email at an SMTP sink (each notice sent
once), the payment order, the shipment, and the national portal's copy: the dossier with each step, in order.

One suite per database serves every path (a suite takes ~15 s to start): the paths are independent dossiers.
Time-driven paths use short settings, not a clock override: a payment order lives PAYMENT_ORDER_TTL_HOURS=0.006
(21.6 s) and the expiry, refund and deadline jobs run every second.
"""
from __future__ import annotations

import re
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta

import pytest

from scripts.suite import SERVICES, start_suite
from servicekit.testing import backends, throwaway_database, throwaway_vhost

pytestmark = pytest.mark.slow

J = sys.modules["motcua_tests_support_journeys"]  # tests/support/journeys.py, loaded by tests/conftest.py

# Services 8521-8525, simulators 8621-8624, portal 8520: clear of `make up`, test_end_to_end (+300),
# test_faults (+450) and bench (+700 and up); +10 per retry when taken.
PORT_OFFSET = 520
ORDER_TTL_HOURS = "0.006"  # 21.6 s: long enough to pay in every path, short enough to watch path 8 expire

# Procedures of the seeded catalogue, one per shape a path needs.
FEE_BEFORE = "1.004873.H56"  # 10.000 đồng before processing, counter or post, agency 000.00.06.H56
NO_FEE = "1.001193.H56"  # no fee, counter or post, agency 000.00.06.H56
FEE_AFTER = "1.012790.H56"  # 50.000 đồng after processing, counter or post, agency 000.00.23.H56

CODES = {"submitted": "1", "received": "2", "refused": "3", "in_review": "4", "supplement_requested": "5",
         "awaiting_payment": "6", "withdrawn": "7", "stopped": "8", "result_ready": "9", "returned": "10"}


@pytest.fixture(scope="module", params=backends())
def suite(request, tmp_path_factory):
    backend = request.param
    base = tmp_path_factory.mktemp(f"paths-{backend}")
    with ExitStack() as stack:
        vhost = stack.enter_context(throwaway_vhost())
        smtp = J.SmtpSink().start()
        stack.callback(smtp.stop)
        env = {
            "MOTCUA_AMQP_URL": vhost,
            "MOTCUA_SMTP_URL": smtp.url,
            "POSTAL_SIM_AUTO_DELIVER": "0",  # the test scripts every report of the operator
            "PAYMENT_ORDER_TTL_HOURS": ORDER_TTL_HOURS,
            "PAYMENT_EXPIRY_EVERY_SECONDS": "1",
            "PAYMENT_REFUND_EVERY_SECONDS": "1",
            "PROCESSING_DEADLINE_WATCH_SECONDS": "1",
            "PROCESSING_DVCQG_SYNC_SECONDS": "0.5",
            # Every hour counts, so the paused time of a supplement moves the due date whenever the test runs.
            "PROCESSING_WORKING_HOURS": "00:00-23:59",
        }
        if backend == "postgresql":
            for service in SERVICES:
                env[f"{service.upper()}_DATABASE_URL"] = stack.enter_context(throwaway_database(backend, str(base)))
        running = start_suite(base, env, PORT_OFFSET)
        stack.callback(running.stop)
        running.smtp = smtp
        # ... and today is a working day even on a weekend or a holiday (the admin's swapped working day).
        admin = J.Officers(running, "000.00.06.H56")
        marked = J.HTTP.put(running.url("processing", f"/v1/calendar/days/{J.vn_today().isoformat()}"),
                            json={"kind": "work", "note": "Ngày làm bù (kiểm thử)"}, headers=admin.headers["admin"],
                            timeout=10)
        assert marked.status_code == 200, marked.text
        running.backend = backend
        yield running


_phones = iter(range(1, 10_000))


def phone() -> str:
    return f"8498{next(_phones):07d}"


def email_for(n: str) -> str:
    return f"cong-dan-{n[-4:]}@example.vn"


def notices(case: dict, channel: str) -> list[str]:
    """The kinds of notice the audit trail says were sent on a channel, in order."""
    label = {"sms": "SMS", "email": "email"}[channel]
    note = re.compile(rf"^Đã gửi thông báo {label} cho người nộp(?:: [^()]+)? \(([a-z_.]+)\)$")
    return [m.group(1) for a in case["audit"] if a["action"] == "notified" and (m := note.match(a["note"]))]


def settle_and_check(citizen, officers, *, status: str, national: list[str], notices_sms: set[str],
                     email: bool = True, quiet: float = 1.0) -> tuple[dict, dict]:
    """The common end-of-path checks; answers (citizen view, officer case)."""
    view = citizen.wait_status(status)
    assert view["status_code"] == int(CODES[status])
    citizen.wait_national(int(CODES[status]))
    case = J.wait_for(f"{citizen.code}: every notice recorded in the audit trail",
                      lambda: (lambda c: c if notices_sms <= set(notices(c, "sms")) else None)(officers.case(citizen.code)),
                      timeout=30)
    time.sleep(quiet)  # a duplicate message would show itself within this
    case = officers.case(citizen.code)
    view = citizen.view()
    assert case["status"] == status

    # The officer's trail and the citizen's timeline walk the same statuses.
    walked = J.audit_statuses(case)
    timeline = J.squeeze([e["status"] for e in view["timeline"]])
    assert timeline == walked, (timeline, walked, [(e["at"][11:23], e["status"], e["note"][:30]) for e in view["timeline"]])

    # Every SMS once: the gateway got exactly the notices the audit trail records, each message id once.
    sms = citizen.sms()
    sent_sms = notices(case, "sms")
    assert len(sms) == len(sent_sms), ([m["text"] for m in sms], sent_sms)
    assert len({m["message_id"] for m in sms}) == len(sms)
    assert all(m["text"].isascii() and m["status"] == "delivered" for m in sms), sms
    if email:
        mails = citizen.suite.smtp.mails_about(citizen.code)
        assert len(mails) == len(notices(case, "email")) >= 1, [m["Subject"] for m in mails]
        assert len({m["Message-ID"] for m in mails}) == len(mails)
        assert all(m["To"] == citizen.email for m in mails)

    # The national portal holds the dossier with each step, in order: its progress rows walk the same statuses.
    portal = citizen.national()
    assert portal["record"]["MaHoSo"] == citizen.code
    assert J.squeeze(citizen.national_statuses()) == national, citizen.national_statuses()
    assert J.squeeze([CODES[s] for s in walked]) == national
    return view, case


@pytest.fixture(scope="module")
def unpaid(suite):
    """Path 8's dossier, filed when the module starts (path 1 asks for it): its order runs out while the other
    paths run, instead of the module waiting the whole TTL at path 8."""
    return J.Citizen.file(suite, FEE_BEFORE, phone(), email_address=email_for("1008"))


def test_path_1_counter_delivery_fee_paid_by_qr_before_processing(suite, unpaid):
    citizen = J.Citizen.file(suite, FEE_BEFORE, phone(), email_address=email_for("1001"))
    officers = J.Officers(suite, citizen.agency)
    # The status comes from processing's event and the order from payment's: they reach intake in either order.
    view = citizen.wait_view("awaiting payment, with its order",
                             lambda v: v["status"] == "awaiting_payment" and v.get("payment"))
    assert view["payment"]["amount_vnd"] == 10_000 and view["payment"]["qr_payload"].startswith("000201")
    officers.act(citizen.code, "clerk", "receive", expect=409)  # not before the fee is paid
    paid = citizen.pay()
    assert paid["callback"]["delivered"], paid
    citizen.wait_status("submitted")
    officers.receive(citizen.code)
    officers.review_and_issue(citizen.code)
    citizen.wait_status("result_ready")
    officers.act(citizen.code, "clerk", "return-result")

    view, case = settle_and_check(citizen, officers, status="returned", national=["1", "6", "1", "2", "4", "9", "10"],
                                  notices_sms={"dossier.submitted", "payment.requested", "payment.completed",
                                               "dossier.received", "dossier.result_ready", "dossier.returned"})
    assert view["payment"]["status"] == "paid" and view["payment"]["paid_at"]
    order = officers.order(citizen.code)
    assert (order["status"], order["amount_vnd"], order["fee_mode"]) == ("paid", 10_000, "before")
    assert officers.shipment(citizen.code) is None  # counter delivery: nothing for the post
    assert case["fee_paid"] is True and view["completed_at"]


def test_path_2_postal_delivery_operator_reports_through_to_delivered_fee_paid_after(suite):
    citizen = J.Citizen.file(suite, FEE_AFTER, phone(), post=True, email_address=email_for("1002"))
    officers = J.Officers(suite, citizen.agency)
    assert citizen.filed["fees"]["procedure_vnd"] == 50_000
    officers.receive(citizen.code)
    assert citizen.view()["payment"] is None or citizen.view()["payment"]["status"] != "pending"  # nothing to pay yet
    officers.review_and_issue(citizen.code)
    citizen.wait_status("result_ready")
    officers.act(citizen.code, "clerk", "return-result", expect=409)  # post delivery: postal closes it
    citizen.pay()
    shipment = J.wait_for("the result dispatched to the operator",
                          lambda: (lambda s: s if s and s.get("tracking_no") and s["status"] not in ("created", "pending")
                                   else None)(officers.shipment(citizen.code)))
    tracking = shipment["tracking_no"]
    J.wait_for("the operator holding the order", lambda: J.HTTP.get(
        suite.url("postal-operator", f"/v1/orders/{tracking}"), timeout=5).status_code == 200)
    for status in ("accepted", "picked_up", "in_transit", "delivered"):
        J.report_postal(suite, tracking, status)
        # ... each step seen by postal and by the citizen before the next report
        J.wait_for(f"shipment {status}", lambda status=status: (officers.shipment(citizen.code) or {}).get("status") == status)
        citizen.wait_view(f"delivery {status}", lambda v, status=status: v["delivery"]["status"] == status)

    view, case = settle_and_check(citizen, officers, status="returned", national=["1", "2", "4", "9", "10"],
                                  notices_sms={"dossier.submitted", "dossier.received", "dossier.result_ready",
                                               "payment.requested", "payment.completed", "shipment.dispatched",
                                               "shipment.delivered"})
    assert view["payment"]["status"] == "paid"
    assert view["delivery"] == {"method": "post", "tracking_no": tracking, "status": "delivered"}
    shipment = officers.shipment(citizen.code)
    assert shipment["status"] == "delivered", shipment
    assert officers.order(citizen.code)["fee_mode"] == "after"


def test_path_3_supplement_requested_and_provided_moves_the_due_date_then_returned(suite):
    citizen = J.Citizen.file(suite, NO_FEE, phone(), email_address=email_for("1003"))
    officers = J.Officers(suite, citizen.agency)
    received = officers.receive(citizen.code)
    due_before = received["due_at"]
    asked = citizen.procedure["documents"][0]["code"]
    officers.act(citizen.code, "clerk", "request-supplement", {
        "reason": "Bản sao giấy tờ chưa rõ nét", "documents": [asked],
        "deadline": (date.today() + timedelta(days=7)).isoformat()})
    view = citizen.wait_status("supplement_requested")
    assert view["supplement_request"]["documents"][0]["code"] == asked
    time.sleep(2)  # the paused time the due date must move by
    answer = citizen.post("/supplements", {"documents": [{"code": asked, "upload_id": J.Citizen.upload(suite, asked)}],
                                           "note": "Đã bổ sung bản sao rõ nét"})
    assert answer.status_code == 201, answer.text
    case = J.wait_for("back to received", lambda: (lambda c: c if c["status"] == "received" else None)(
        officers.case(citizen.code)))
    assert case["due_at"] > due_before, (due_before, case["due_at"])  # moved by the pause
    officers.review_and_issue(citizen.code, paper=False)
    officers.act(citizen.code, "clerk", "return-result")

    view, case = settle_and_check(citizen, officers, status="returned", national=["1", "2", "5", "2", "4", "9", "10"],
                                  notices_sms={"dossier.submitted", "dossier.received", "dossier.supplement_requested",
                                               "dossier.result_ready", "dossier.returned"})
    assert view["due_at"] and view["supplement_request"] is None
    assert officers.order(citizen.code)["status"] == "not_required"


def test_path_4_a_second_supplement_request_is_flagged_and_counted_late_in_the_766_figures(suite):
    citizen = J.Citizen.file(suite, NO_FEE, phone(), email_address=email_for("1004"))
    officers = J.Officers(suite, citizen.agency)
    officers.receive(citizen.code)
    before = officers.stats_766()["2.1"]
    asked = citizen.procedure["documents"][0]["code"]
    deadline = (date.today() + timedelta(days=7)).isoformat()
    for n in (1, 2):
        case = officers.act(citizen.code, "clerk", "request-supplement", {
            "reason": f"Bổ sung lần {n}", "documents": [asked], "deadline": deadline})
        citizen.wait_status("supplement_requested")
        answer = citizen.post("/supplements", {"documents": [{"code": asked,
                                                              "upload_id": J.Citizen.upload(suite, asked)}]})
        assert answer.status_code == 201, answer.text
        J.wait_for("back to received", lambda: (officers.case(citizen.code) or {}).get("status") == "received")
    flagged = [a for a in officers.case(citizen.code)["audit"] if "lần thứ hai" in (a["note"] or "")]
    assert len(flagged) == 1, "the second request carries the 766 flag in the audit trail"
    after = officers.stats_766()["2.1"]
    late_before = before["denominator"] - before["numerator"]
    late_after = after["denominator"] - after["numerator"]
    assert late_after == late_before + 1, (before, after)  # counted late although the clock has not run out
    officers.review_and_issue(citizen.code, paper=False)
    officers.act(citizen.code, "clerk", "return-result")
    settle_and_check(citizen, officers, status="returned", national=["1", "2", "5", "2", "5", "2", "4", "9", "10"],
                     notices_sms={"dossier.submitted", "dossier.received", "dossier.supplement_requested",
                                  "dossier.returned"})


def test_path_5_refused_at_reception_after_the_fee_was_paid_is_refunded(suite):
    citizen = J.Citizen.file(suite, FEE_BEFORE, phone(), email_address=email_for("1005"))
    officers = J.Officers(suite, citizen.agency)
    citizen.pay()
    citizen.wait_status("submitted")
    J.wait_for("the case back at submitted", lambda: (officers.case(citizen.code) or {}).get("status") == "submitted")
    officers.act(citizen.code, "clerk", "refuse", {"reason": "Hồ sơ không thuộc thẩm quyền giải quyết"})
    view, case = settle_and_check(citizen, officers, status="refused", national=["1", "6", "1", "3"],
                                  notices_sms={"dossier.submitted", "payment.completed", "dossier.refused",
                                               "payment.refunded"})
    view = citizen.wait_view("the refund", lambda v: v["payment"]["status"] == "refunded")
    assert view["payment"]["refunded_at"]
    order = officers.order(citizen.code)
    assert order["status"] == "refunded", order
    refund = J.HTTP.get(suite.url("bank", f"/v1/transactions/{order['reference']}"), timeout=5).json()
    assert refund["refunded_vnd"] == 10_000, refund  # the bank gave the money back, once


def test_path_6_withdrawn_by_the_citizen_before_review_refund_and_shipment_cancelled(suite):
    citizen = J.Citizen.file(suite, FEE_BEFORE, phone(), post=True, email_address=email_for("1006"))
    officers = J.Officers(suite, citizen.agency)
    citizen.pay()
    citizen.wait_status("submitted")
    officers.receive(citizen.code)
    J.wait_for("a shipment for the postal delivery", lambda: officers.shipment(citizen.code))
    asked = citizen.post("/withdrawal", {"reason": "Tôi đã nộp nhầm thủ tục"})
    assert asked.status_code == 202, asked.text
    view, case = settle_and_check(citizen, officers, status="withdrawn", national=["1", "6", "1", "2", "7"],
                                  notices_sms={"dossier.submitted", "payment.completed", "dossier.received",
                                               "dossier.withdrawn", "payment.refunded"})
    assert view["withdrawal"]["status"] == "accepted"
    assert citizen.wait_view("the refund", lambda v: v["payment"]["status"] == "refunded")
    shipment = J.wait_for("the shipment cancelled", lambda: (lambda s: s if s["status"] == "cancelled" else None)(
        officers.shipment(citizen.code)))
    assert shipment["status"] == "cancelled"
    assert citizen.post("/withdrawal", {"reason": "lần nữa"}).status_code == 409


def test_path_7_late_with_the_apology_and_its_new_date_then_returned(suite):
    citizen = J.Citizen.file(suite, NO_FEE, phone(), email_address=email_for("1007"))
    officers = J.Officers(suite, citizen.agency)
    received = officers.receive(citizen.code)
    officers.act(citizen.code, "leader", "assign", {"assignee": J.SPECIALIST})
    new_date = (date.today() + timedelta(days=10)).isoformat()
    apologized = officers.act(citizen.code, "leader", "apologize",
                              {"reason": "Cần xác minh thêm với cơ quan liên quan", "new_due_date": new_date})
    assert apologized["apologized_at"] and apologized["due_at"] > received["due_at"]
    officers.act(citizen.code, "leader", "apologize", {"reason": "lần hai", "new_due_date": new_date}, expect=409)
    view = citizen.wait_view("the new due date", lambda v: v["due_at"] and v["due_at"][:10] >= new_date[:10]
                             or v["due_at"] == apologized["due_at"])
    apology = citizen.wait_sms(new_date[8:10] + "/" + new_date[5:7])  # the SMS names the new date (dd/mm)
    assert "xin loi" in apology["text"].lower() or "hen lai" in apology["text"].lower(), apology
    mail = J.wait_for("the apology email with form 04", lambda: [m for m in suite.smtp.mails_about(citizen.code)
                                                                if any(p.get_content_type() == "application/pdf"
                                                                       for p in m.iter_attachments())])
    assert mail
    officers.act(citizen.code, "specialist", "submit-for-approval", {"summary": "Đủ điều kiện"})
    officers.act(citizen.code, "leader", "approve")
    officers.act(citizen.code, "specialist", "issue-result", {"result_file_id": officers.upload_result(),
                                                              "paper_original": False})
    officers.act(citizen.code, "clerk", "return-result")
    settle_and_check(citizen, officers, status="returned", national=["1", "2", "4", "9", "10"],
                     notices_sms={"dossier.submitted", "dossier.received", "dossier.apology_issued",
                                  "dossier.returned"})


def test_path_8_fee_never_paid_order_expires_dossier_stopped_citizen_told(suite, unpaid):
    citizen = unpaid
    officers = J.Officers(suite, citizen.agency)
    view, case = settle_and_check(citizen, officers, status="stopped", national=["1", "6", "8"],
                                  notices_sms={"dossier.submitted", "payment.requested", "payment.expired"})
    assert view["payment"]["status"] == "expired"
    assert officers.order(citizen.code)["status"] == "expired"
    pay_late = J.HTTP.post(suite.url("bank", "/v1/pay"), json={"qr_payload": officers.order(citizen.code)["qr_payload"]},
                           timeout=10)
    assert pay_late.status_code == 200
    time.sleep(1)
    assert citizen.view()["status"] == "stopped"  # money after expiry does not reopen the dossier


def test_path_9_a_delivery_that_fails_and_is_returned_to_sender(suite):
    citizen = J.Citizen.file(suite, NO_FEE, phone(), post=True, email_address=email_for("1009"))
    officers = J.Officers(suite, citizen.agency)
    officers.receive(citizen.code)
    officers.review_and_issue(citizen.code)
    shipment = J.wait_for("the result dispatched", lambda: (lambda s: s if s and s.get("tracking_no") and
                          s["status"] not in ("created", "pending") else None)(officers.shipment(citizen.code)))
    tracking = shipment["tracking_no"]
    J.wait_for("the operator holding the order", lambda: J.HTTP.get(
        suite.url("postal-operator", f"/v1/orders/{tracking}"), timeout=5).status_code == 200)
    for status in ("accepted", "in_transit", "failed_attempt", "failed_attempt", "returned_to_sender"):
        J.report_postal(suite, tracking, status, note="Không liên lạc được người nhận")
    case = J.wait_for("the clerk's flag", lambda: (lambda c: c if c["delivery_failed"] else None)(
        officers.case(citizen.code)))
    assert case["status"] == "result_ready"
    view = citizen.wait_view("the failed delivery", lambda v: v["delivery"]["status"] == "returned_to_sender")
    settle_and_check(citizen, officers, status="result_ready", national=["1", "2", "4", "9"],
                     notices_sms={"dossier.submitted", "dossier.received", "dossier.result_ready", "shipment.failed"})
    assert officers.shipment(citizen.code)["status"] == "returned_to_sender"


def test_path_10_a_counter_filing_by_a_clerk_on_a_citizens_behalf(suite):
    clerk = J.officer_token("000.00.06.H56", "clerk", "can-bo-mot-cua")
    other_agency_clerk = J.officer_token("000.00.07.H56", "clerk")
    procedure = J.Citizen.procedure(suite, NO_FEE)
    refused = J.HTTP.post(suite.url("intake", "/v1/dossiers"), timeout=10,
                          json={**J.Citizen.body(suite, procedure, phone(), post=False, email_address=None),
                                "channel": "counter"},
                          headers={"Idempotency-Key": "counter-other-agency",
                                   "Authorization": f"Bearer {other_agency_clerk}"})
    assert refused.status_code == 403, refused.text
    citizen = J.Citizen.file(suite, NO_FEE, phone(), email_address=email_for("1010"), clerk_token=clerk)
    officers = J.Officers(suite, citizen.agency)
    case = J.wait_for("the case", lambda: officers.case(citizen.code))
    assert case["channel"] == "counter"
    officers.receive(citizen.code)
    officers.review_and_issue(citizen.code)
    officers.act(citizen.code, "clerk", "return-result")
    settle_and_check(citizen, officers, status="returned", national=["1", "2", "4", "9", "10"],
                     notices_sms={"dossier.submitted", "dossier.received", "dossier.returned"})
