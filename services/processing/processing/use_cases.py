"""Processing's rules: functions that take a connection, never commit, and record events in the outbox."""
from __future__ import annotations

from sqlalchemy import Connection

from servicekit.tables import now

from . import queries


def open_case(conn: Connection, dossier: dict, *, actor: str) -> int | None:
    """A filed dossier becomes a case waiting at the one-stop counter (national status 1)."""
    if queries.get_case(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one case
    moment = now()
    case_id = queries.insert_case(
        conn,
        code=dossier["code"],
        procedure_code=dossier["procedure"]["code"],
        procedure_name=dossier["procedure"]["name"],
        agency_code=dossier["agency"]["code"],
        applicant_name=dossier["applicant"]["full_name"],
        applicant_type=dossier["applicant"]["type"],
        channel=dossier["channel"],
        delivery_method=dossier["delivery"]["method"],
        processing_days=dossier["procedure"]["processing_days"],
        fee_vnd=dossier["procedure"]["fee_vnd"],
        status="submitted",
        submitted_at=dossier["submitted_at"],
        created_at=moment,
        updated_at=moment,
    )
    queries.insert_audit(
        conn, case_id=case_id, at=moment, actor=actor, action="open", from_status=None,
        to_status="submitted", note="Hồ sơ mới tiếp nhận trực tuyến" if dossier["channel"] == "online" else "Hồ sơ nộp tại quầy",
    )
    return case_id
