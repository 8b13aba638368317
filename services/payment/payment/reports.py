"""The daily report an officer reads: orders opened, payments, refunds, mismatches and totals of one day."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Connection

from servicekit.events import rfc3339

from . import queries

# The province's day: Vietnam keeps UTC+07:00 all year (no daylight saving).
VIETNAM = timezone(timedelta(hours=7))
CSV_COLUMNS = ("section", "dossier_code", "reference", "status", "amount_vnd", "bank_txn_id", "at", "detail")


def _at(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment else None


def daily_report(conn: Connection, agency: str, day: date, *, with_unknown: bool) -> dict:
    start = datetime.combine(day, time(0), tzinfo=VIETNAM).astimezone(timezone.utc)
    end = start + timedelta(days=1)
    opened = queries.orders_opened(conn, agency, start, end)
    paid = queries.orders_paid(conn, agency, start, end)
    refunded = queries.refunds_completed(conn, agency, start, end)
    flags = queries.flags_raised(conn, agency, start, end, with_unknown=with_unknown)
    payable = [o for o in opened if o.status != "not_required"]
    return {
        "agency_code": agency,
        "date": day.isoformat(),
        "from": rfc3339(start),
        "to": rfc3339(end),
        "orders": [{"dossier_code": o.dossier_code, "reference": o.reference, "status": o.status,
                    "fee_mode": o.fee_mode, "amount_vnd": o.amount_vnd, "created_at": _at(o.created_at)}
                   for o in opened],
        "payments": [{"dossier_code": o.dossier_code, "reference": o.reference, "status": o.status,
                      "amount_vnd": o.amount_vnd, "bank_txn_id": o.bank_txn_id, "paid_at": _at(o.paid_at)}
                     for o in paid],
        "refunds": [{"dossier_code": r.dossier_code, "reference": r.reference, "refund_id": r.refund_id,
                     "amount_vnd": r.amount_vnd, "reason": r.reason, "refunded_at": _at(r.completed_at)}
                    for r in refunded],
        "mismatches": [{"kind": f.kind, "dossier_code": f.dossier_code, "reference": f.reference,
                        "bank_txn_id": f.bank_txn_id, "expected_vnd": f.expected_vnd, "received_vnd": f.received_vnd,
                        "source": f.source, "detail": f.detail, "flagged_at": _at(f.created_at)} for f in flags],
        "totals": {
            "orders_opened": len(opened),
            "orders_payable": len(payable),
            "amount_requested_vnd": sum(o.amount_vnd for o in payable),
            "payments": len(paid),
            "amount_paid_vnd": sum(o.amount_vnd for o in paid),
            "refunds": len(refunded),
            "amount_refunded_vnd": sum(r.amount_vnd for r in refunded),
            "net_vnd": sum(o.amount_vnd for o in paid) - sum(r.amount_vnd for r in refunded),
            "mismatches": len(flags),
            "still_pending": queries.pending_count(conn, agency, end),  # opened by the day's end, pending now
        },
    }


def as_csv(report: dict) -> str:
    """One table: a row per order, payment, refund and mismatch, then one `total` row per figure
    (its name in `status`, its value in `amount_vnd`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for o in report["orders"]:
        writer.writerow(("order", o["dossier_code"], o["reference"], o["status"], o["amount_vnd"], "",
                         o["created_at"], o["fee_mode"]))
    for p in report["payments"]:
        writer.writerow(("payment", p["dossier_code"], p["reference"], p["status"], p["amount_vnd"],
                         p["bank_txn_id"], p["paid_at"], ""))
    for r in report["refunds"]:
        writer.writerow(("refund", r["dossier_code"], r["reference"], "refunded", r["amount_vnd"], r["refund_id"],
                         r["refunded_at"], r["reason"]))
    for m in report["mismatches"]:
        writer.writerow(("mismatch", m["dossier_code"] or "", m["reference"], m["kind"], m["received_vnd"],
                         m["bank_txn_id"], m["flagged_at"], m["detail"] or ""))
    for name, value in report["totals"].items():
        writer.writerow(("total", "", "", name, value, "", report["date"], ""))
    return out.getvalue()
