"""Postal's rules: functions that take a connection, never commit, and record events in the outbox."""
from __future__ import annotations

import logging

from sqlalchemy import Connection

from servicekit.db import after_commit
from servicekit.outbox import record_event
from servicekit.tables import now

from . import queries
from .events import PUBLISHES
from .metrics import SHIPMENTS
from .models import outbox
from .tracking import tracking_number

log = logging.getLogger(__name__)


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


def open_return_shipment(conn: Connection, dossier: dict) -> int | None:
    """A dossier whose result goes back by post gets its return shipment now, awaiting the result; counter
    delivery is not postal's business."""
    if dossier["delivery"]["method"] != "post":
        return None
    if queries.get_shipment(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one shipment
    shipment_id = queries.next_shipment_id(conn)
    tracking_no = tracking_number(shipment_id)
    moment = now()
    status = "awaiting_result"
    queries.insert_shipment(
        conn,
        id=shipment_id,
        dossier_code=dossier["code"],
        tracking_no=tracking_no,
        agency_code=dossier["agency"]["code"],
        agency_name=dossier["agency"].get("name"),
        service="return",
        status=status,
        recipient=recipient_snapshot(dossier),
        created_at=moment,
        updated_at=moment,
    )
    record_event(
        conn, outbox, PUBLISHES["shipment.created.v1"],
        {"dossier_code": dossier["code"], "tracking_no": tracking_no, "service": "return", "status": status},
        source="postal", subject=dossier["code"],
    )
    after_commit(conn, lambda: SHIPMENTS.labels(status).inc())
    log.info("shipment opened", extra={"event": "postal.shipment_opened", "tracking_no": tracking_no, "status": status})
    return shipment_id
