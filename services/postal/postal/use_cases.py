"""Postal's rules: functions that take a connection, never commit, and record events in the outbox.

A shipment's life: awaiting_result (opened, priced, when the dossier is filed for return by post)
-> awaiting_payment (a fee-after dossier whose fee is not paid yet) -> dispatched (the order went to the
operator) -> accepted -> picked_up -> in_transit -> failed_attempt ... -> delivered | returned_to_sender;
or cancelled (refused, withdrawn or stopped before pickup).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.outbox import record_event, record_message
from servicekit.tables import now
from servicekit.topology import POSTAL_EXCHANGE

from . import pricing, queries
from .config import Settings
from .events import PUBLISHES
from .metrics import SHIPMENTS, SUBSIDY
from .models import outbox
from .tracking import tracking_number

log = logging.getLogger(__name__)

CARRIER_STATUSES = ("accepted", "picked_up", "in_transit", "delivered", "failed_attempt", "returned_to_sender")
# Where a carrier report may move a shipment: only forward. A repeated failed attempt (same rank, later
# time) is news; the two endings are final, and so is a cancellation.
RANK = {"dispatched": 0, "accepted": 1, "picked_up": 2, "in_transit": 3, "failed_attempt": 4}
ENDINGS = ("delivered", "returned_to_sender")
CLOSED = ENDINGS + ("cancelled",)
NOT_DISPATCHED = ("awaiting_result", "awaiting_payment")
UNDER_WAY = tuple(RANK)
BEFORE_PICKUP = ("dispatched", "accepted")  # the operator can still drop the order


class ShipmentNotOpenYet(RuntimeError):
    """dossier.result_ready for post before dossier.submitted opened the shipment: retried by the consumer."""


def recipient_snapshot(dossier: dict) -> dict:
    """Who receives the result: the delivery address, its name and phone defaulting to the applicant's."""
    address, applicant = dossier["delivery"]["address"], dossier["applicant"]
    return {
        "name": address.get("recipient_name") or applicant["full_name"],
        "phone": address.get("phone") or applicant.get("phone"),
        "street": address["street"],
        "commune": address["commune"],
        "province": address["province"],
    }


def _history(conn: Connection, shipment, status: str, at: datetime, note: str | None) -> None:
    queries.insert_tracking_event(conn, event_id=None, tracking_no=shipment.tracking_no, shipment_id=shipment.id,
                                  source="postal", status=status, at=at, note=note, outcome="applied",
                                  received_at=now())


def _count(conn: Connection, status: str) -> None:
    after_commit(conn, lambda: SHIPMENTS.labels(status).inc())


def open_return_shipment(conn: Connection, settings: Settings, dossier: dict) -> int | None:
    """A dossier whose result goes back by post gets its return shipment now, priced once from the agency's
    address and the citizen's, awaiting the result; counter delivery is not postal's business."""
    if dossier["delivery"]["method"] != "post":
        return None
    if queries.get_shipment(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one shipment
    agency = dossier["agency"]["code"]
    sender = settings.sender_for(agency)
    recipient = recipient_snapshot(dossier)
    delivery = dossier["delivery"]
    moment = now()
    try:
        quote = pricing.quote(
            conn, service="return", province=recipient["province"], commune=recipient["commune"],
            weight_g=settings.result_weight_g, sender=sender, exemption=delivery.get("exemption", "none"),
            fee_transfer=bool(delivery.get("fee_transfer")), on=pricing.today(),
        )
        priced, error = quote.as_dict(), None
        priced["on"] = priced["on"].isoformat()
        # The official names, so the operator gets the address as the map spells it.
        recipient = {**recipient, "province": quote.recipient["province"], "commune": quote.recipient["commune"]}
    except pricing.QuoteError as exc:
        quote, priced, error = None, None, f"{exc.field}: {exc.message}"
        log.warning("shipment opened unpriced", extra={"event": "postal.unpriced", "field": exc.field})
    shipment_id = queries.next_shipment_id(conn)
    tracking_no = tracking_number(shipment_id)
    status = "awaiting_result"
    queries.insert_shipment(
        conn, id=shipment_id, dossier_code=dossier["code"], tracking_no=tracking_no, agency_code=agency,
        agency_name=dossier["agency"].get("name"), service="return", status=status, recipient=recipient,
        created_at=moment, updated_at=moment, status_at=moment,
        sender={"name": sender.name, "address": sender.address, "phone": sender.phone, "province": sender.province,
                "commune": sender.commune},
        weight_g=settings.result_weight_g, zone=quote.zone if quote else None,
        exemption=quote.exemption if quote else delivery.get("exemption", "none"),
        fee_transfer=bool(delivery.get("fee_transfer")),
        operator_vnd=quote.operator_vnd if quote else None, citizen_vnd=quote.citizen_vnd if quote else None,
        pricing=priced, pricing_error=error,
    )
    shipment = queries.get_shipment(conn, dossier["code"])
    _history(conn, shipment, status, moment, "priced" if quote else f"not priced: {error}")
    record_event(
        conn, outbox, PUBLISHES["shipment.created.v1"],
        {"dossier_code": dossier["code"], "tracking_no": tracking_no, "service": "return", "status": status,
         "agency_code": agency, "zone": shipment.zone, "operator_vnd": shipment.operator_vnd,
         "citizen_vnd": shipment.citizen_vnd},
        source="postal", subject=dossier["code"],
    )
    _count(conn, status)
    log.info("shipment opened", extra={"event": "postal.shipment_opened", "tracking_no": tracking_no, "status": status})
    return shipment_id


def _stale(shipment, seq: int) -> bool:
    """processing's events carry a per-dossier seq: one at or below the last applied changes nothing."""
    return shipment.last_seq is not None and seq <= shipment.last_seq


def dispatch_order(settings: Settings, shipment) -> dict:
    """The order exactly as CONTRACT.md gives it to the operator (docs/schemas/dispatch-requested.schema.json).
    A shipment opened before senders and weights were kept (migration 0002) takes today's configured ones."""
    current = settings.sender_for(shipment.agency_code)
    sender, recipient = shipment.sender or {"name": current.name, "address": current.address,
                                            "phone": current.phone, "province": current.province}, shipment.recipient
    return {
        "shipment_id": str(shipment.id),
        "tracking_no": shipment.tracking_no,
        "dossier_code": shipment.dossier_code,
        "service": shipment.service,
        "sender": {"name": sender["name"], "address": sender["address"], "phone": sender["phone"],
                   "province": sender["province"]},
        "recipient": {"name": recipient["name"], "address": recipient["street"], "phone": recipient.get("phone"),
                      "province": recipient["province"], "commune": recipient["commune"]},
        "weight_g": shipment.weight_g or settings.result_weight_g,
        "cod_amount_vnd": shipment.citizen_vnd or 0,
        "requested_at": rfc3339(now()),
    }


def _dispatch(conn: Connection, settings: Settings, shipment) -> None:
    order = dispatch_order(settings, shipment)
    moment = now()
    # The message id is the tracking number's: a re-sent order is the same order to the operator.
    record_message(conn, outbox, body=order, event_id=f"dispatch-{shipment.tracking_no}", type_="dispatch.requested",
                   exchange=POSTAL_EXCHANGE, routing_key="dispatch.requested", subject=shipment.dossier_code)
    queries.update_shipment(conn, shipment.id, status="dispatched", status_at=moment, updated_at=moment,
                            dispatched_at=moment, cod_amount_vnd=order["cod_amount_vnd"])
    _history(conn, shipment, "dispatched", moment, f"order sent to the operator, COD {order['cod_amount_vnd']} VND")
    record_event(
        conn, outbox, PUBLISHES["shipment.dispatched.v1"],
        {"dossier_code": shipment.dossier_code, "agency_code": shipment.agency_code,
         "tracking_no": shipment.tracking_no, "service": shipment.service,
         "cod_amount_vnd": order["cod_amount_vnd"], "dispatched_at": rfc3339(moment)},
        source="postal", subject=shipment.dossier_code,
    )
    _count(conn, "dispatched")
    if shipment.operator_vnd is not None and shipment.citizen_vnd is not None:
        subsidy = shipment.operator_vnd - shipment.citizen_vnd
        after_commit(conn, lambda: SUBSIDY.inc(subsidy))
    log.info("dispatch ordered", extra={"event": "postal.dispatched", "tracking_no": shipment.tracking_no})


def result_ready(conn: Connection, settings: Settings, data: dict) -> None:
    """The result is ready: a result going by post is dispatched now, or when its fee-after is paid."""
    shipment = queries.get_shipment_for_update(conn, data["code"])
    if shipment is None:
        if data["delivery_method"] == "post":
            raise ShipmentNotOpenYet(f"no shipment yet for {data['code']}; dossier.submitted not handled yet")
        return
    if _stale(shipment, data["seq"]):
        return
    queries.update_shipment(conn, shipment.id, last_seq=data["seq"], fee_mode=data["fee_mode"],
                            fee_vnd=data["fee_vnd"], updated_at=now())
    if shipment.status != "awaiting_result":
        return
    if data["delivery_method"] != "post":
        _cancel(conn, shipment, "the result is returned at the counter")
        return
    shipment = queries.get_shipment_for_update(conn, data["code"])
    if data["fee_mode"] == "after" and data["fee_vnd"] > 0 and shipment.fee_paid_at is None:
        moment = now()
        queries.update_shipment(conn, shipment.id, status="awaiting_payment", status_at=moment, updated_at=moment)
        _history(conn, shipment, "awaiting_payment", moment, f"waiting for the fee of {data['fee_vnd']} VND")
        _count(conn, "awaiting_payment")
        return
    _dispatch(conn, settings, shipment)


def payment_completed(conn: Connection, settings: Settings, data: dict) -> None:
    """A fee paid: noted on the shipment; one waiting for it is dispatched now."""
    shipment = queries.get_shipment_for_update(conn, data["dossier_code"])
    if shipment is None or shipment.fee_paid_at is not None:
        return  # a counter dossier, or a payment already noted
    queries.update_shipment(conn, shipment.id, fee_paid_at=data["paid_at"], updated_at=now())
    if shipment.status == "awaiting_payment":
        _dispatch(conn, settings, queries.get_shipment_for_update(conn, data["dossier_code"]))


def _cancel(conn: Connection, shipment, reason: str) -> None:
    moment = now()
    if shipment.status in BEFORE_PICKUP:
        body = {"shipment_id": str(shipment.id), "tracking_no": shipment.tracking_no,
                "dossier_code": shipment.dossier_code, "reason": reason, "cancelled_at": rfc3339(moment)}
        record_message(conn, outbox, body=body, event_id=f"cancel-{shipment.tracking_no}", type_="dispatch.cancelled",
                       exchange=POSTAL_EXCHANGE, routing_key="dispatch.cancelled", subject=shipment.dossier_code)
    queries.update_shipment(conn, shipment.id, status="cancelled", status_at=moment, updated_at=moment,
                            closed_at=moment)
    _history(conn, shipment, "cancelled", moment, reason)
    record_event(
        conn, outbox, PUBLISHES["shipment.cancelled.v1"],
        {"dossier_code": shipment.dossier_code, "agency_code": shipment.agency_code,
         "tracking_no": shipment.tracking_no, "reason": reason, "cancelled_at": rfc3339(moment)},
        source="postal", subject=shipment.dossier_code,
    )
    _count(conn, "cancelled")


CLOSING_REASONS = {"refused": "dossier refused", "withdrawn": "dossier withdrawn", "stopped": "dossier stopped"}


def dossier_closed(conn: Connection, data: dict, how: str) -> None:
    """Refused, withdrawn or stopped: the shipment is cancelled if the item is not picked up yet."""
    shipment = queries.get_shipment_for_update(conn, data["code"])
    if shipment is None or _stale(shipment, data["seq"]):
        return
    queries.update_shipment(conn, shipment.id, last_seq=data["seq"], updated_at=now())
    if shipment.status in NOT_DISPATCHED + BEFORE_PICKUP:
        reason = CLOSING_REASONS[how] + (f": {data['reason']}" if data.get("reason") else "")
        _cancel(conn, shipment, reason)
    elif shipment.status not in CLOSED:
        log.warning("dossier closed after pickup; the item stays with the operator",
                    extra={"event": "postal.close_after_pickup", "tracking_no": shipment.tracking_no,
                           "status": shipment.status})


# ---- carrier reports ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportOutcome:
    event_id: str
    tracking_no: str
    outcome: str  # applied | stale | after_close | not_dispatched | unknown_tracking_no | duplicate
    shipment_status: str | None


def _judge(shipment, status: str, at: datetime) -> str:
    if shipment is None:
        return "unknown_tracking_no"
    if shipment.status in CLOSED:
        return "after_close"
    if shipment.status in NOT_DISPATCHED:
        return "not_dispatched"
    if status in ENDINGS:
        return "applied"
    current = RANK[shipment.status]
    if RANK[status] > current or (RANK[status] == current and shipment.status_at is not None and at > shipment.status_at):
        return "applied"
    return "stale"


def record_carrier_report(conn: Connection, report: dict) -> ReportOutcome:
    """Every report is kept as history; only one that moves the shipment forward changes it, once."""
    tracking_no, status, at = report["tracking_no"], report["status"], report["at"]
    shipment = queries.get_shipment_by_tracking_for_update(conn, tracking_no)
    outcome = _judge(shipment, status, at)
    moment = now()
    new = queries.insert_tracking_event(
        conn, event_id=report["event_id"], tracking_no=tracking_no, shipment_id=shipment.id if shipment else None,
        source="carrier", status=status, at=at, note=report.get("note"), outcome=outcome, received_at=moment,
    )
    if not new:
        return ReportOutcome(report["event_id"], tracking_no, "duplicate", shipment.status if shipment else None)
    if outcome != "applied":
        log.info("carrier report without effect", extra={"event": "postal.report_ignored", "tracking_no": tracking_no,
                                                         "status": status, "outcome": outcome})
        return ReportOutcome(report["event_id"], tracking_no, outcome, shipment.status if shipment else None)
    closed = status in ENDINGS
    queries.update_shipment(conn, shipment.id, status=status, status_at=at, updated_at=moment,
                            closed_at=moment if closed else None)
    base = {"dossier_code": shipment.dossier_code, "agency_code": shipment.agency_code, "tracking_no": tracking_no}
    if status == "delivered":
        record_event(conn, outbox, PUBLISHES["shipment.delivered.v1"], {**base, "delivered_at": rfc3339(at)},
                     source="postal", subject=shipment.dossier_code)
    elif status == "returned_to_sender":
        record_event(conn, outbox, PUBLISHES["shipment.failed.v1"],
                     {**base, "status": status, "reason": report.get("note") or "returned to sender", "at": rfc3339(at)},
                     source="postal", subject=shipment.dossier_code)
    else:
        record_event(conn, outbox, PUBLISHES["shipment.progressed.v1"],
                     {**base, "status": status, "at": rfc3339(at), "note": report.get("note")},
                     source="postal", subject=shipment.dossier_code)
    _count(conn, status)
    return ReportOutcome(report["event_id"], tracking_no, "applied", status)


def shipment_view(conn: Connection, shipment) -> dict:
    history = [
        {"at": e.at, "status": e.status, "source": e.source, "event_id": e.event_id, "note": e.note,
         "outcome": e.outcome, "received_at": e.received_at}
        for e in queries.list_tracking_events(conn, shipment.id)
    ]
    return {**shipment._mapping, "history": history}


# ---- monthly statement ----------------------------------------------------------------------------

STATEMENT_COLUMNS = ("tracking_no", "dossier_code", "service", "status", "zone", "weight_g", "exemption",
                     "fee_transfer", "dispatched_at", "operator_vnd", "citizen_vnd", "subsidy_vnd")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' -> its first moment and the next month's, in Vietnam time (the agency's calendar month)."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=pricing.VIETNAM)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def statement(conn: Connection, agency: str, month: str) -> dict:
    """Shipments the agency dispatched in the month: what the operator bills, what citizens pay, the
    exemptions granted and the subsidy (operator − citizen) the agency owes."""
    start, end = month_bounds(month)
    rows = []
    totals = {"shipments": 0, "operator_vnd": 0, "citizen_vnd": 0, "collected_vnd": 0, "subsidy_vnd": 0,
              "exempted_vnd": 0, "unpriced": 0}
    exemptions = {"none": 0, "half": 0, "free": 0}
    statuses: dict[str, int] = {}
    for s in queries.shipments_dispatched_between(conn, agency, start, end):
        priced = s.operator_vnd is not None and s.citizen_vnd is not None
        subsidy = s.operator_vnd - s.citizen_vnd if priced else None
        rows.append({"tracking_no": s.tracking_no, "dossier_code": s.dossier_code, "service": s.service,
                     "status": s.status, "zone": s.zone, "weight_g": s.weight_g, "exemption": s.exemption,
                     "fee_transfer": bool(s.fee_transfer), "dispatched_at": rfc3339(s.dispatched_at),
                     "operator_vnd": s.operator_vnd, "citizen_vnd": s.citizen_vnd, "subsidy_vnd": subsidy})
        totals["shipments"] += 1
        statuses[s.status] = statuses.get(s.status, 0) + 1
        exemptions[s.exemption or "none"] = exemptions.get(s.exemption or "none", 0) + 1
        if not priced:
            totals["unpriced"] += 1
            continue
        totals["operator_vnd"] += s.operator_vnd
        totals["citizen_vnd"] += s.citizen_vnd
        if s.status == "delivered":  # the postman collected it on delivery (COD); a returned item paid nothing
            totals["collected_vnd"] += s.cod_amount_vnd or 0
        totals["subsidy_vnd"] += subsidy
        for line in (s.pricing or {}).get("breakdown", {}).get("citizen", []):
            if line["item"] == "exemption":
                totals["exempted_vnd"] -= line["vnd"]
    return {"agency": agency, "month": month, "from": rfc3339(start), "to": rfc3339(end), "totals": totals,
            "exemptions": exemptions, "statuses": statuses, "shipments": rows}


def stuck_counts(conn: Connection, hours: float, moment: datetime | None = None) -> dict[str, int]:
    """Shipments under way without news for `hours`, by status (each status present, zero or not)."""
    found = queries.count_stuck(conn, UNDER_WAY, (moment or now()) - timedelta(hours=hours))
    return {status: found.get(status, 0) for status in UNDER_WAY}


def valid_month(month: str) -> bool:
    try:
        parsed = datetime.strptime(month, "%Y-%m")
    except ValueError:
        return False
    return len(month) == 7 and date(2000, 1, 1) <= parsed.date() <= date(2100, 1, 1)
