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


class CaseNotOpenedYet(Exception):
    """An event about a dossier whose case this service has not opened yet: events on different
    queues can overtake each other, so the kit retries this later instead of dead-lettering it."""


CHANNEL_NAMES = {"sms": "SMS", "zalo": "Zalo", "email": "email"}


def record_notification(conn: Connection, notice: dict, *, delivered: bool, actor: str) -> None:
    """The officer's audit trail shows what the citizen was told, and when telling them failed."""
    case = queries.get_case(conn, notice["dossier_code"])
    if case is None:
        raise CaseNotOpenedYet(notice["dossier_code"])
    channel = CHANNEL_NAMES.get(notice["channel"], notice["channel"])
    if delivered:
        note = f"Đã gửi thông báo {channel} cho người nộp ({notice['kind']})"
    else:
        note = f"Gửi thông báo {channel} thất bại ({notice['kind']}): {notice['reason']}"
    queries.insert_audit(
        conn, case_id=case.id, at=now(), actor=actor, action="notified" if delivered else "notify_failed",
        from_status=case.status, to_status=case.status, note=note,
    )
