"""Processing's rules: functions that take a connection, never commit, and record events in the outbox.

Every change of a case goes through `transition()`: a conditional UPDATE on the case's version, its audit row
and (for an edge of the graph) its one event with the next per-dossier `seq`, all in the caller's transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from servicekit.events import rfc3339
from servicekit.outbox import record_event
from servicekit.tables import now as utcnow
from servicekit.web import Conflict, Forbidden, Invalid, NotFound

from . import queries
from .calendar import VN_TZ, WorkingCalendar, parse_hours
from .events import PUBLISHES, STATUS_CODES
from .models import outbox
from .workflow import ACTIONS, STATUS_LABELS, WITHDRAWABLE, allowed_actions, refusal, vnd

SYSTEM = "system"


class CaseNotOpenedYet(Exception):
    """An event about a dossier whose case this service has not opened yet: events on different
    queues can overtake each other, so the kit retries this later instead of dead-lettering it."""


class StaleCase(Conflict):
    """Someone changed the case between our read and our write (two officers at once): one wins."""


def vn_time(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def vn_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def load_calendar(conn: Connection, working_hours: str) -> WorkingCalendar:
    overrides = {row.day: row.kind for row in queries.list_calendar_days(conn)}
    return WorkingCalendar(parse_hours(working_hours), overrides)


def transition(conn: Connection, case, *, action: str, actor: str, note: str, to_status: str | None = None,
               event: str | None = None, extra: dict | None = None, changes: dict | None = None,
               at: datetime | None = None, officer: dict | None = None):
    """Apply one edge to `case` (as read in this transaction) and return the case as it now is.

    A change of status also queues its national portal (DVCQG) step in the same transaction."""
    at = at or utcnow()
    status = to_status or case.status
    values = dict(changes or {})
    values.update(status=status, updated_at=at)
    if event is not None:
        values["seq"] = case.seq + 1
    if not queries.update_case_if_unchanged(conn, case.id, case.version, **values):
        raise StaleCase("Hồ sơ vừa được cán bộ khác cập nhật; vui lòng tải lại và thử lại.")
    queries.insert_audit(conn, case_id=case.id, at=at, actor=actor, action=action, from_status=case.status,
                         to_status=status, note=note)
    if event is not None:
        data = {
            "code": case.code, "agency_code": case.agency_code, "procedure_code": case.procedure_code,
            "status": status, "status_code": STATUS_CODES[status], "at": rfc3339(at), "seq": case.seq + 1,
            "actor": actor if not actor.startswith("system") else SYSTEM, **(extra or {}),
        }
        record_event(conn, outbox, PUBLISHES[event], data, source="processing", subject=case.code)
        if status != case.status:
            queue_national_step(conn, case, seq=case.seq + 1, status=status, at=at, actor=actor, officer=officer,
                                note=note, due_at=values["due_at"] if "due_at" in values else case.due_at)
    return queries.get_case(conn, case.code)


# ---- the national portal (DVCQG) sync queue -------------------------------------------------------------
ROLE_TITLES = {"clerk": "Cán bộ tiếp nhận", "specialist": "Chuyên viên", "leader": "Lãnh đạo",
               "admin": "Quản trị hệ thống"}
ROLE_DEPARTMENTS = {"clerk": "Bộ phận tiếp nhận và trả kết quả", "specialist": "Bộ phận chuyên môn",
                    "leader": "Lãnh đạo cơ quan", "admin": "Quản trị hệ thống"}


def queue_national_step(conn: Connection, case, *, seq: int, status: str, at: datetime, actor: str, note: str,
                        officer: dict | None = None, due_at: datetime | None = None) -> None:
    """One step the national portal must hear about (the opening and every change of status); never merged."""
    role = (officer or {}).get("role")  # no officer: the system moved it (NguoiXuLy "Hệ thống")
    queries.insert_sync_step(
        conn, code=case.code, agency_code=case.agency_code, seq=seq, status_code=STATUS_CODES[status],
        actor_name="" if officer is None else (officer.get("name") or actor),
        actor_title=ROLE_TITLES.get(role, ""), department=ROLE_DEPARTMENTS.get(role, ""),
        at=at, content=note or "", due_at=due_at, created_at=utcnow(), state="pending", attempts=0,
    )


def audit_only(conn: Connection, case, *, action: str, actor: str, note: str, changes: dict | None = None) -> None:
    """A fact about the case that is no edge of the graph (a notification, a rating, a failed delivery)."""
    if changes:
        if not queries.update_case_if_unchanged(conn, case.id, case.version, updated_at=utcnow(), **changes):
            raise StaleCase("Hồ sơ vừa được cập nhật; thử lại.")
    queries.insert_audit(conn, case_id=case.id, at=utcnow(), actor=actor, action=action, from_status=case.status,
                         to_status=case.status, note=note)


# ---- the officer view -----------------------------------------------------------------------------------
def is_overdue(case, now: datetime) -> bool:
    return case.status in ("received", "in_review") and case.due_at is not None and now > case.due_at


def case_view(case, now: datetime, role: str | None = None) -> dict:
    view = dict(case._mapping)
    for name in ("documents", "procedure_documents", "supplement_documents", "delivery_address"):
        view[name] = json.loads(view[name]) if view.get(name) else None
    view["status_code"] = STATUS_CODES[case.status]
    view["status_label"] = STATUS_LABELS[case.status]
    view["overdue"] = is_overdue(case, now)
    view["supplement_request"] = (
        {"reason": case.supplement_reason, "documents": view["supplement_documents"],
         "deadline": case.supplement_deadline, "request_no": case.supplement_count,
         "from_status": case.supplement_from_status}
        if case.status == "supplement_requested" else None
    )
    if role is not None:
        view["allowed_actions"] = allowed_actions(case, role, now)
    return view


def audit_trail(rows) -> list[dict]:
    """The audit rows in order, each note (a row that changes no status) shown in the status of the step before it.

    A note's writer (a notice sent, a rating) reads the case without a lock; on PostgreSQL an officer's transition
    can commit between that read and the note, which then carried the old status after the new one. The step
    before it is what the case was in when the note was written."""
    trail, status = [], None
    for row in rows:
        entry = dict(row._mapping)
        if entry["from_status"] == entry["to_status"] and status is not None:
            entry["from_status"] = entry["to_status"] = status
        else:
            status = entry["to_status"]
        trail.append(entry)
    return trail


def officer_view(conn: Connection, case, officer: dict, now: datetime | None = None) -> dict:
    view = case_view(case, now or utcnow(), officer["role"])
    view["audit"] = audit_trail(queries.list_audit(conn, case.id))
    view["national_sync"] = national_sync_summary(conn, case.code)
    return view


def national_sync_summary(conn: Connection, code: str) -> dict | None:
    """What the console shows of the DVCQG sync: the latest step's state and the last answer worth reading
    (a parked step's refusal comes before a later step that waits behind it)."""
    steps = queries.sync_steps_of(conn, code)
    if not steps:
        return None
    latest = steps[-1]
    parked = [s for s in steps if s.state == "parked"]
    shown = parked[0] if parked else next((s for s in steps if s.state == "pending" and s.last_answer), latest)
    return {"state": latest.state, "status_code": latest.status_code, "seq": latest.seq, "steps": len(steps),
            "parked": len(parked), "attempts": shown.attempts, "next_attempt_at": shown.next_attempt_at,
            "last_answer": shown.last_answer}


def sync_step_view(step) -> dict:
    view = dict(step._mapping)
    view["cuts"] = json.loads(step.cuts) if step.cuts else None
    return view


def resync_dossier(conn: Connection, code: str, *, officer: dict) -> int:
    """An admin puts a dossier's parked steps back in the queue (after fixing what the portal refused)."""
    case = queries.get_case(conn, code, agency=officer["agency"])
    if case is None:
        raise NotFound("Không tìm thấy hồ sơ (dossier not found)")
    requeued = queries.requeue_parked(conn, code)
    if requeued == 0:
        raise Conflict("Hồ sơ không có bước đồng bộ nào bị Cổng DVCQG từ chối; không cần đồng bộ lại.")
    audit_only(conn, case, action="dvcqg_resync", actor=officer["sub"],
               note=f"Đồng bộ lại {requeued} bước lên Cổng Dịch vụ công quốc gia")
    return requeued


# ---- officer actions ------------------------------------------------------------------------------------
@dataclass
class Context:
    conn: Connection
    officer: dict
    calendar: WorkingCalendar
    now: datetime


def perform_action(conn: Connection, *, code: str, action_name: str, body: dict, officer: dict,
                   calendar: WorkingCalendar, now: datetime | None = None) -> dict:
    """One officer action on one dossier of the officer's agency; returns the officer view after it."""
    now = now or utcnow()
    action = ACTIONS[action_name]
    case = queries.get_case(conn, code, agency=officer["agency"])
    if case is None:
        raise NotFound("Không tìm thấy hồ sơ (dossier not found)")
    refused = refusal(action, case, officer["role"], now)
    if refused is not None:
        status, message = refused
        raise (Forbidden if status == 403 else Conflict)(message)
    ctx = Context(conn, officer, calendar, now)
    # Each effect gives the edge's payload, the case's new values and the audit note; the graph gives the target.
    extra, changes, note = _EFFECTS[action_name](ctx, case, body)
    case = transition(conn, case, action=action_name, actor=officer["sub"], note=note, to_status=action.target,
                      event=action.event, extra=extra, changes=changes, at=now, officer=officer)
    return officer_view(conn, case, officer, now)


def _receive(ctx: Context, case, body):
    due = ctx.calendar.due_date(ctx.now, case.processing_days)
    extra = {"received_at": rfc3339(ctx.now), "due_at": rfc3339(due), "processing_days": case.processing_days,
             "received_by": ctx.officer["sub"]}
    changes = {"received_at": ctx.now, "received_by": ctx.officer["sub"], "due_at": due}
    return extra, changes, f"Tiếp nhận hồ sơ; hẹn trả kết quả lúc {vn_time(due)} ({case.processing_days} ngày làm việc)"


def _refuse(ctx: Context, case, body):
    return ({"reason": body["reason"], "cause": "officer"}, {"finished_at": ctx.now},
            f"Từ chối tiếp nhận hồ sơ: {body['reason']}")


def _request_supplement(ctx: Context, case, body):
    today = ctx.calendar.local_date(ctx.now)
    if body["deadline"] < today:
        raise Invalid("Hạn bổ sung đã qua.", {"json": {"deadline": [f"must be {today.isoformat()} or later"]}})
    known = {d["code"]: d["name"] for d in json.loads(case.procedure_documents or "[]")}
    unknown = [c for c in body["documents"] if known and c not in known]
    if unknown:
        raise Invalid("Giấy tờ không thuộc thủ tục này.", {"json": {"documents": [f"unknown codes: {', '.join(unknown)}"]}})
    documents = [{"code": c, "name": known.get(c, c)} for c in dict.fromkeys(body["documents"])]
    request_no = case.supplement_count + 1
    extra = {"reason": body["reason"], "documents": documents, "deadline": body["deadline"].isoformat(),
             "request_no": request_no, "from_status": case.status}
    # The documents change: a signature asked for (or given) on the old set does not carry over.
    changes = {"paused_at": ctx.now, "supplement_count": request_no, "supplement_from_status": case.status,
               "approval": None,
               "supplement_reason": body["reason"], "supplement_documents": json.dumps(documents, ensure_ascii=False),
               "supplement_deadline": body["deadline"]}
    history = json.loads(case.supplements or "[]") + [{
        "request_no": request_no, "requested_at": rfc3339(ctx.now),
        "requested_by": ctx.officer.get("name") or ctx.officer["sub"], "reason": body["reason"],
        "documents": documents, "deadline": body["deadline"].isoformat(),
        "old_due_at": rfc3339(case.due_at) if case.due_at else None}]
    changes["supplements"] = json.dumps(history, ensure_ascii=False)
    note = f"Yêu cầu bổ sung lần {request_no} (hạn {vn_date(body['deadline'])}): {body['reason']}"
    if request_no > 1:
        note += " — yêu cầu bổ sung lần thứ hai trở lên, tính là trễ hạn theo Quyết định 766"
    return extra, changes, note


def _assign(ctx: Context, case, body):
    if ctx.officer["role"] == "specialist" and body["assignee"] != ctx.officer["sub"]:
        raise Forbidden("Chuyên viên chỉ được tự nhận hồ sơ cho mình; lãnh đạo phân công cho người khác.")
    return ({"assignee": body["assignee"]}, {"assignee": body["assignee"]},
            f"Phân công chuyên viên {body['assignee']} xử lý")


def _submit_for_approval(ctx: Context, case, body):
    return ({"summary": body["summary"]}, {"approval": "requested", "approval_summary": body["summary"]},
            f"Trình lãnh đạo ký duyệt: {body['summary']}")


def _approve(ctx: Context, case, body):
    return {}, {"approval": "approved"}, "Lãnh đạo đã ký duyệt"


def _reject(ctx: Context, case, body):
    return ({"reason": body["reason"]}, {"approval": "rejected", "finished_at": ctx.now},
            f"Lãnh đạo không duyệt: {body['reason']}")


def _stop(ctx: Context, case, body):
    return ({"reason": body["reason"], "cause": "officer"}, {"finished_at": ctx.now},
            f"Dừng xử lý hồ sơ: {body['reason']}")


def _issue_result(ctx: Context, case, body):
    stored = queries.get_result_file(ctx.conn, body["result_file_id"], case.agency_code)
    if stored is None:
        raise Invalid("Không tìm thấy tệp kết quả; tải tệp PDF lên qua POST /v1/files trước.",
                      {"json": {"result_file_id": ["unknown file"]}})
    extra = {"result_file_id": stored.id, "result_sha256": stored.sha256, "paper_original": body["paper_original"],
             "delivery_method": case.delivery_method, "fee_mode": case.fee_mode, "fee_vnd": case.fee_vnd}
    changes = {"result_file_id": stored.id, "result_sha256": stored.sha256, "paper_original": body["paper_original"],
               "finished_at": ctx.now}
    paper = "có bản giấy" if body["paper_original"] else "chỉ bản điện tử"
    return extra, changes, f"Ban hành kết quả ({paper}); trả qua {_VIA[case.delivery_method]}"


_VIA = {"counter": "bộ phận một cửa", "post": "bưu chính"}


def _return_result(ctx: Context, case, body):
    return ({"returned_at": rfc3339(ctx.now), "via": "counter"},
            {"returned_at": ctx.now, "returned_via": "counter"}, "Đã trả kết quả tại bộ phận một cửa")


def _apologize(ctx: Context, case, body):
    day = body["new_due_date"]
    if not ctx.calendar.is_working_day(day):
        raise Invalid("Ngày hẹn mới không phải ngày làm việc.", {"json": {"new_due_date": ["not a working day"]}})
    new_due = ctx.calendar.close_of(day)
    if new_due <= case.due_at:
        raise Invalid("Ngày hẹn mới phải sau ngày hẹn hiện tại.",
                      {"json": {"new_due_date": [f"must be after {ctx.calendar.local_date(case.due_at).isoformat()}"]}})
    extra = {"reason": body["reason"], "old_due_at": rfc3339(case.due_at), "new_due_at": rfc3339(new_due)}
    changes = {"due_at": new_due, "apologized_at": ctx.now, "due_soon_sent_at": None}
    return extra, changes, f"Phiếu xin lỗi, hẹn lại ngày trả {vn_time(new_due)}: {body['reason']}"


_EFFECTS = {
    "receive": _receive, "refuse": _refuse, "request-supplement": _request_supplement, "assign": _assign,
    "submit-for-approval": _submit_for_approval, "approve": _approve, "reject": _reject, "stop": _stop,
    "issue-result": _issue_result, "return-result": _return_result, "apologize": _apologize,
}
assert set(_EFFECTS) == set(ACTIONS), "every action of the graph has its effect"


# ---- consumed events ------------------------------------------------------------------------------------
def _case_for_event(conn: Connection, code: str):
    case = queries.get_case(conn, code)
    if case is None:
        raise CaseNotOpenedYet(code)
    return case


def open_case(conn: Connection, dossier: dict, *, actor: str) -> int | None:
    """A filed dossier becomes a case at the counter (1), or waiting for its fee paid before processing (6)."""
    if queries.get_case(conn, dossier["code"]) is not None:
        return None  # the same dossier under another event id (a re-published event): one case
    moment = utcnow()
    procedure, applicant, delivery = dossier["procedure"], dossier["applicant"], dossier["delivery"]
    fee_first = procedure["fee_mode"] == "before" and procedure["fee_vnd"] > 0
    case_id = queries.insert_case(
        conn,
        code=dossier["code"],
        procedure_code=procedure["code"],
        procedure_name=procedure["name"],
        procedure_field_code=procedure.get("field_code"),
        procedure_field_name=procedure.get("field_name"),
        agency_code=dossier["agency"]["code"],
        agency_name=dossier["agency"].get("name"),
        applicant_name=applicant["full_name"],
        applicant_type=applicant["type"],
        applicant_id_number=applicant.get("id_number"),
        applicant_phone=applicant.get("phone"),
        applicant_email=applicant.get("email"),
        applicant_address=applicant.get("address"),
        channel=dossier["channel"],
        delivery_method=delivery["method"],
        delivery_address=json.dumps(delivery["address"], ensure_ascii=False) if delivery.get("address") else None,
        documents=json.dumps(dossier.get("documents") or [], ensure_ascii=False),
        procedure_documents=json.dumps(procedure.get("documents") or [], ensure_ascii=False),
        procedure_level=procedure.get("level"),
        fee_mode=procedure["fee_mode"],
        result_is_paper=procedure["result_is_paper"],
        filed_by=dossier.get("filed_by"),
        processing_days=procedure["processing_days"],
        fee_vnd=procedure["fee_vnd"],
        status="submitted",
        submitted_at=dossier["submitted_at"],
        created_at=moment,
        updated_at=moment,
    )
    queries.insert_audit(
        conn, case_id=case_id, at=moment, actor=actor, action="open", from_status=None, to_status="submitted",
        note="Hồ sơ mới nộp trực tuyến" if dossier["channel"] == "online" else "Hồ sơ nộp tại quầy",
    )
    queue_national_step(conn, queries.get_case(conn, dossier["code"]), seq=0, status="submitted",
                        at=dossier["submitted_at"], actor=actor, note="")
    if fee_first:
        transition(
            conn, queries.get_case(conn, dossier["code"]), action="payment_required", actor=actor,
            to_status="awaiting_payment", event="dossier.payment_required.v1",
            extra={"amount_vnd": procedure["fee_vnd"]}, at=moment,
            note=f"Chờ người nộp thanh toán phí, lệ phí {vnd(procedure['fee_vnd'])} đồng trước khi xử lý",
        )
    return case_id


def payment_completed(conn: Connection, payment: dict, *, actor: str) -> None:
    case = _case_for_event(conn, payment["dossier_code"])
    amount = vnd(payment["amount_vnd"])
    if case.status == "awaiting_payment":
        transition(conn, case, action="payment_received", actor=actor, to_status="submitted",
                   event="dossier.payment_received.v1", extra={"reference": payment["reference"]},
                   changes={"fee_paid": True, "paid_online": payment.get("method", "online") == "online",
                            "payment_reference": payment["reference"]},
                   note=f"Đã nhận thanh toán {amount} đồng (mã {payment['reference']}); hồ sơ chờ tiếp nhận")
    elif not case.fee_paid:
        # A fee paid after processing (or a payment that arrived after the case moved on): recorded, no edge.
        audit_only(conn, case, action="fee_paid", actor=actor,
                   changes={"fee_paid": True, "paid_online": payment.get("method", "online") == "online",
                            "payment_reference": payment["reference"]},
                   note=f"Đã nhận thanh toán phí, lệ phí {amount} đồng (mã {payment['reference']})")


def payment_expired(conn: Connection, payment: dict, *, actor: str) -> None:
    case = _case_for_event(conn, payment["dossier_code"])
    if case.status != "awaiting_payment":
        return  # paid meanwhile, or already stopped by an earlier copy
    reason = "Quá hạn thanh toán phí, lệ phí; hồ sơ dừng xử lý"
    transition(conn, case, action="payment_expired", actor=actor, to_status="stopped", event="dossier.stopped.v1",
               extra={"reason": reason, "cause": "payment_expired"}, changes={"finished_at": utcnow()},
               note=f"{reason} (mã thanh toán {payment['reference']})")


def supplement_arrived(conn: Connection, supplement: dict, *, actor: str, calendar: WorkingCalendar) -> None:
    """The citizen's supplement resumes the clock: the due date moves by the paused working time."""
    case = _case_for_event(conn, supplement["code"])
    if case.status != "supplement_requested":
        return  # a late copy after the case resumed or closed
    resumed = max(supplement["supplemented_at"], case.paused_at or supplement["supplemented_at"])
    paused = int(calendar.working_seconds_between(case.paused_at, resumed)) if case.paused_at else 0
    due = calendar.add(case.due_at, paused) if case.due_at is not None else None
    documents = json.loads(case.documents or "[]") + list(supplement["documents"])
    back_to = case.supplement_from_status
    note = "Người nộp đã bổ sung hồ sơ; tiếp tục xử lý"
    if due is not None:
        note += f", hạn trả mới {vn_time(due)} (dời {paused // 60} phút làm việc)"
    if supplement.get("note"):
        note += f". Ghi chú: {supplement['note']}"
    history = _answer_supplement(case, supplemented_at=rfc3339(resumed), new_due_at=rfc3339(due) if due else None,
                                 provided=[{k: d.get(k) for k in ("code", "name", "upload_id", "filename")}
                                           for d in supplement["documents"]], note=supplement.get("note"))
    transition(conn, case, action="supplement_received", actor=actor, to_status=back_to,
               event="dossier.supplement_received.v1",
               extra={"due_at": rfc3339(due) if due else None, "resumed_at": rfc3339(resumed)},
               changes={"due_at": due, "paused_at": None, "paused_seconds": case.paused_seconds + paused,
                        "documents": json.dumps(documents, ensure_ascii=False, default=str),
                        "supplement_deadline": None, "due_soon_sent_at": None, **history},
               note=note)


def _answer_supplement(case, **answer) -> dict:
    """The case's change that closes its open supplement request in the history (none on a case from before 0004)."""
    history = json.loads(case.supplements or "[]")
    open_requests = [item for item in history if not item.get("supplemented_at") and not item.get("closed_at")]
    if not open_requests:
        return {}
    open_requests[-1].update({k: v for k, v in answer.items() if v is not None})
    return {"supplements": json.dumps(history, ensure_ascii=False, default=str)}


def withdrawal_requested(conn: Connection, request: dict, *, actor: str) -> None:
    case = _case_for_event(conn, request["code"])
    if case.status == "withdrawn":
        return  # the same request again
    if case.status in WITHDRAWABLE:
        transition(conn, case, action="withdraw", actor=actor, to_status="withdrawn", event="dossier.withdrawn.v1",
                   extra={"reason": request["reason"], "from_status": case.status},
                   changes={"finished_at": utcnow(), "paused_at": None},
                   note=f"Công dân rút hồ sơ: {request['reason']}")
    else:
        reason = (f"Hồ sơ đang ở trạng thái “{STATUS_LABELS[case.status]}”; không thể rút hồ sơ đã có kết quả "
                  "hoặc đã kết thúc.")
        transition(conn, case, action="withdrawal_refused", actor=actor, event="dossier.withdrawal_refused.v1",
                   extra={"reason": reason}, note=f"Từ chối yêu cầu rút hồ sơ: {reason}")


def dossier_rated(conn: Connection, rating: dict, *, actor: str) -> None:
    case = _case_for_event(conn, rating["code"])
    if case.rating_score is not None:
        return  # one rating per dossier (intake allows only one)
    comment = f": {rating['comment']}" if rating.get("comment") else ""
    audit_only(conn, case, action="rated", actor=actor, changes={"rating_score": rating["score"]},
               note=f"Người nộp đánh giá {rating['score']}/5{comment}")


def shipment_delivered(conn: Connection, shipment: dict, *, actor: str) -> None:
    case = _case_for_event(conn, shipment["dossier_code"])
    if case.status != "result_ready":
        return  # already returned (a copy), or never meant to be: nothing to move
    at = shipment["delivered_at"]
    transition(conn, case, action="delivered", actor=actor, to_status="returned", event="dossier.returned.v1",
               extra={"returned_at": rfc3339(at), "via": "post"},
               changes={"returned_at": at, "returned_via": "post", "delivery_failed": False},
               note=f"Bưu điện đã phát kết quả cho người nhận (vận đơn {shipment['tracking_no']})")


def shipment_failed(conn: Connection, shipment: dict, *, actor: str) -> None:
    case = _case_for_event(conn, shipment["dossier_code"])
    if case.delivery_failed or case.status != "result_ready":
        return
    audit_only(conn, case, action="delivery_failed", actor=actor, changes={"delivery_failed": True},
               note=f"Bưu điện không phát được kết quả (vận đơn {shipment['tracking_no']}): {shipment['reason']}; "
                    "bộ phận một cửa liên hệ người nộp")


CHANNEL_NAMES = {"sms": "SMS", "zalo": "Zalo", "email": "email"}
# What each of notify's messages tells the citizen, for the officer's audit trail (the kind stays, in brackets, to
# find the message at notify). A kind notify adds later shows by its key alone until it gets a label here.
NOTICE_LABELS = {
    "dossier.submitted": "hồ sơ đã nộp",
    "payment.requested": "yêu cầu nộp phí, lệ phí",
    "payment.completed": "đã nhận thanh toán",
    "payment.expired": "quá hạn thanh toán",
    "payment.refunded": "đã hoàn phí, lệ phí",
    "dossier.received": "hồ sơ được tiếp nhận, ngày hẹn trả",
    "dossier.refused": "từ chối tiếp nhận hồ sơ",
    "dossier.stopped": "dừng giải quyết hồ sơ",
    "dossier.rejected": "từ chối giải quyết hồ sơ",
    "dossier.supplement_requested": "yêu cầu bổ sung hồ sơ",
    "dossier.assigned": "hồ sơ đang được xử lý",
    "dossier.withdrawn": "hồ sơ đã rút",
    "dossier.result_ready": "đã có kết quả",
    "dossier.returned": "đã trả kết quả",
    "dossier.apology_issued": "thư xin lỗi và ngày hẹn trả mới",
    "dossier.overdue": "hồ sơ quá hạn",
    "shipment.dispatched": "kết quả đã gửi qua bưu chính",
    "shipment.delivered": "bưu chính đã phát kết quả",
    "shipment.failed": "bưu chính không phát được kết quả",
}


def record_notification(conn: Connection, notice: dict, *, delivered: bool, actor: str) -> None:
    """The officer's audit trail shows what the citizen was told, and when telling them failed."""
    case = _case_for_event(conn, notice["dossier_code"])
    channel = CHANNEL_NAMES.get(notice["channel"], notice["channel"])
    kind = notice["kind"]
    what = f": {NOTICE_LABELS[kind]} ({kind})" if kind in NOTICE_LABELS else f" ({kind})"
    if delivered:
        note = f"Đã gửi thông báo {channel} cho người nộp{what}"
    else:
        note = f"Gửi thông báo {channel} thất bại{what}: {notice['reason']}"
    audit_only(conn, case, action="notified" if delivered else "notify_failed", actor=actor, note=note)


# ---- the deadline watch -----------------------------------------------------------------------------------
WATCH_HORIZON = timedelta(days=21)  # one working day before a due date is never further than Tết + weekends


def watch_case(conn: Connection, case, *, calendar: WorkingCalendar, now: datetime) -> list[str]:
    """due_soon once when one working day is left, overdue once when the due date passed (clock running)."""
    sent = []
    if case.overdue_sent_at is None and now > case.due_at:
        case = transition(conn, case, action="overdue", actor="system:deadline-watch", event="dossier.overdue.v1",
                          extra={"due_at": rfc3339(case.due_at)}, changes={"overdue_sent_at": now}, at=now,
                          note=f"Hồ sơ quá hạn trả kết quả (hạn {vn_time(case.due_at)})")
        sent.append("overdue")
    elif case.due_soon_sent_at is None and now <= case.due_at and \
            calendar.working_seconds_between(now, case.due_at) <= calendar.day_seconds:
        transition(conn, case, action="due_soon", actor="system:deadline-watch", event="dossier.due_soon.v1",
                   extra={"due_at": rfc3339(case.due_at)}, changes={"due_soon_sent_at": now}, at=now,
                   note=f"Còn một ngày làm việc đến hạn trả kết quả ({vn_time(case.due_at)})")
        sent.append("due_soon")
    return sent


def close_expired_supplement(conn: Connection, case, *, now: datetime) -> None:
    """A supplement request whose deadline passed closes the dossier as not accepted (DOMAIN.md)."""
    reason = (f"Quá hạn bổ sung hồ sơ ({vn_date(case.supplement_deadline)}) mà người nộp chưa bổ sung")
    before_reception = case.supplement_from_status == "submitted"
    transition(conn, case, action="supplement_deadline", actor="system:deadline-watch",
               to_status="refused" if before_reception else "stopped",
               event="dossier.refused.v1" if before_reception else "dossier.stopped.v1",
               extra={"reason": reason, "cause": "supplement_deadline"},
               changes={"finished_at": now, "paused_at": None,
                        **_answer_supplement(case, closed_at=rfc3339(now), outcome="expired")}, at=now, note=reason)
