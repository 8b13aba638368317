"""Officer API: flask-smorest blueprints, one transaction per request, own agency only.

The action endpoints are generated from the workflow graph (`workflow.ACTIONS`): one route per action,
its body schema from the graph, and the same refusal rules that fill `allowed_actions`.
"""
from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

from flask import Response, g, request
from marshmallow import RAISE
from flask_smorest import Blueprint

from servicekit.auth import OFFICER_SECURITY, bearer_token, decode_officer_token, officer_required
from servicekit.files import PDF, FileStore, sniff
from servicekit.signing import BadSignature, verify_link
from servicekit.tables import now as utcnow
from servicekit.web import DomainError, Forbidden, Invalid, NotFound, current_db, current_settings

from . import queries, stats, use_cases
from .calendar import VN_TZ
from .schemas import (
    CalendarDayBodySchema, CalendarDaySchema, CalendarListSchema, CalendarQuerySchema, CaseDetailSchema,
    CasePageSchema, CaseQuerySchema, DueDateQuerySchema, DueDateSchema, FileLinkQuerySchema, FileSchema, ResyncSchema,
    StatsQuerySchema, StatsSchema, SyncListSchema, SyncQuerySchema,
)
from .workflow import ACTIONS

blp = Blueprint("dossiers", __name__, url_prefix="/v1/dossiers", description="Hồ sơ của cơ quan (officer view)")
files_blp = Blueprint("files", __name__, url_prefix="/v1/files", description="Tệp kết quả điện tử (PDF)")
stats_blp = Blueprint("stats", __name__, url_prefix="/v1/stats", description="Chỉ số 766 của cơ quan")
sync_blp = Blueprint("sync", __name__, url_prefix="/v1/sync/dvcqg",
                     description="Đồng bộ hồ sơ lên Cổng Dịch vụ công quốc gia (admin)")
calendar_blp = Blueprint("calendar", __name__, url_prefix="/v1/calendar", description="Lịch làm việc và hạn xử lý")


class TooLarge(DomainError):
    status = 413


def _kit():
    return current_settings().kit


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), VN_TZ)


@blp.get("")
@officer_required(_kit)
@blp.arguments(CaseQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CasePageSchema)
def list_dossiers(args):
    """The agency's queue: overdue first, then by due date; filters by status, overdue, assignee,
    procedure and reception dates (local days, `received_to` inclusive)."""
    now = utcnow()
    received_to = args.get("received_to")
    with current_db().transaction(readonly=True) as conn:
        rows, total = queries.list_cases(
            conn, g.officer["agency"], now=now, status=args.get("status"), assignee=args.get("assignee"),
            overdue=args.get("overdue"), procedure=args.get("procedure"),
            received_from=_start_of_day(args["received_from"]) if args.get("received_from") else None,
            received_to=_start_of_day(received_to + timedelta(days=1)) if received_to else None,
            page=args["page"], per_page=args["per_page"],
        )
    items = [use_cases.case_view(row, now, g.officer["role"]) for row in rows]
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.get("/<code>")
@officer_required(_kit)
@blp.response(200, CaseDetailSchema)
def get_dossier(code):
    """One dossier with its audit trail and the actions the caller may take; another agency's is a 404."""
    with current_db().transaction(readonly=True) as conn:
        case = queries.get_case(conn, code, agency=g.officer["agency"])
        if case is None:
            raise NotFound("Không tìm thấy hồ sơ (dossier not found)")
        return use_cases.officer_view(conn, case, g.officer)


def _role_may(action):
    """403 before the body is read: a role that may never take this action learns nothing more."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.officer["role"] not in action.roles:
                raise Forbidden(f"Vai trò {g.officer['role']} không được thực hiện thao tác {action.name} "
                                f"(dành cho: {', '.join(action.roles)}).")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _action_view(action):
    def view(body, code):
        settings = current_settings()
        with current_db().transaction() as conn:
            calendar = use_cases.load_calendar(conn, settings.working_hours)
            return use_cases.perform_action(conn, code=code, action_name=action.name, body=body,
                                            officer=g.officer, calendar=calendar)

    # The OpenAPI summary and description come from the docstring, read when the route is declared.
    view.__name__ = f"action_{action.name.replace('-', '_')}"
    view.__doc__ = (
        f"{action.title}\n\nRoles: {', '.join(action.roles)}. From: {', '.join(action.sources)} -> "
        f"{action.target or '(status unchanged)'}. Publishes {action.event}."
        + (f" Guard: {action.guard_text}." if action.guard_text else "")
    )
    decorated = blp.alt_response(409, description="the state does not allow it (or another officer acted first)")(view)
    decorated = blp.alt_response(404, description="unknown dossier, or another agency's")(decorated)
    decorated = blp.alt_response(403, description="the role may not take this action")(decorated)
    decorated = blp.response(200, CaseDetailSchema)(decorated)
    decorated = blp.arguments(action.body)(decorated)
    decorated = officer_required(_kit)(_role_may(action)(decorated))
    return blp.route(f"/<code>/{action.name}", methods=["POST"], endpoint=view.__name__)(decorated)


for _action in ACTIONS.values():
    _action_view(_action)


@files_blp.post("")
@officer_required(_kit, "specialist", "leader", "clerk")
@files_blp.response(201, FileSchema)
@files_blp.alt_response(413, description="larger than PROCESSING_MAX_RESULT_BYTES")
@files_blp.alt_response(422, description="no file, or not a PDF by its content")
def upload_file():
    """An electronic result (PDF, checked by its content), stored outside the database; multipart field `file`."""
    settings = current_settings()
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Chưa chọn tệp.", {"files": {"file": ["Missing data for required field."]}})
    content = upload.read(settings.max_result_bytes + 1)
    if len(content) > settings.max_result_bytes:
        raise TooLarge(f"Tệp vượt quá {settings.max_result_bytes // (1024 * 1024)} MiB.")
    if sniff(content) != PDF:
        raise Invalid("Tệp kết quả phải là PDF.", {"files": {"file": ["not a PDF (checked by content)"]}})
    stored = FileStore(settings.files_dir).save(content, PDF)
    try:
        with current_db().transaction() as conn:
            queries.insert_result_file(conn, id=stored.id, agency_code=g.officer["agency"], sha256=stored.sha256,
                                       size=stored.size, content_type=PDF, uploaded_by=g.officer["sub"],
                                       created_at=utcnow())
    except Exception:
        FileStore(settings.files_dir).delete(stored.id)  # nothing half-written: no row, no orphan file
        raise
    return {"id": stored.id, "sha256": stored.sha256, "size": stored.size, "content_type": PDF}


@files_blp.get("/<file_id>")
@files_blp.arguments(FileLinkQuerySchema, location="query", unknown=RAISE)
@files_blp.response(200, {"format": "binary", "type": "string"}, content_type=PDF)
@files_blp.alt_response(401, description="no link signature and no valid officer token")
@files_blp.alt_response(403, description="a link whose signature is wrong or whose time has passed")
@files_blp.alt_response(404, description="unknown file, another agency's, or (by link) not a dossier's issued result")
@files_blp.doc(security=[*OFFICER_SECURITY, {}])
def download_file(args, file_id):
    """A result file, as uploaded: to an officer of its agency (JWT), or by a signed, expiring link.

    The link (`?expires=<unix>&sig=<hex>`, HMAC-SHA256 of "<file id>|<expires>" with MOTCUA_FILE_LINK_SECRET)
    is how intake fetches a dossier's result for its citizen; it opens only a file that is the issued result
    of a dossier, never a draft an officer uploaded and did not issue.
    """
    settings = current_settings()
    if "expires" in args or "sig" in args:
        try:
            verify_link(file_id, str(args.get("expires", "")), args.get("sig"), settings.file_link_secret)
        except BadSignature as exc:
            raise Forbidden(f"Liên kết tải tệp không hợp lệ hoặc đã hết hạn ({exc})") from None
        with current_db().transaction(readonly=True) as conn:
            stored = queries.get_issued_result_file(conn, file_id)
    else:
        officer = decode_officer_token(bearer_token(), settings.kit)
        with current_db().transaction(readonly=True) as conn:
            stored = queries.get_result_file(conn, file_id, officer["agency"])
    if stored is None:
        raise NotFound("Không tìm thấy tệp (file not found)")
    content = FileStore(settings.files_dir).read(stored.id)
    return Response(content, mimetype=PDF, headers={"Content-Disposition": f'inline; filename="{stored.id}.pdf"'})


@calendar_blp.get("/due-date")
@officer_required(_kit)
@calendar_blp.arguments(DueDateQuerySchema, location="query", unknown=RAISE)
@calendar_blp.response(200, DueDateSchema)
def due_date(args):
    """Due date of a dossier received at `from` for a procedure of `working_days` working days."""
    settings = current_settings()
    with current_db().transaction(readonly=True) as conn:
        calendar = use_cases.load_calendar(conn, settings.working_hours)
    start = calendar.normalize(args["from_"])
    due = calendar.due_date(args["from_"], args["working_days"])
    skipped = [
        {"day": day, "why": calendar.holiday_name(day) or ("Nghỉ theo lịch cơ quan" if day in calendar.overrides
                                                             else "Cuối tuần")}
        for day in calendar.days_off_between(calendar.local_date(args["from_"]) - timedelta(days=1),
                                             calendar.local_date(due))
    ]
    return {"start": start, "due_at": due, "due_at_local": due.astimezone(VN_TZ).isoformat(),
            "working_days": args["working_days"], "days_off_skipped": skipped}


@calendar_blp.get("/days")
@officer_required(_kit)
@calendar_blp.arguments(CalendarQuerySchema, location="query", unknown=RAISE)
@calendar_blp.response(200, CalendarListSchema)
def list_days(args):
    """The admin's table: extra days off and swapped working days (on top of the computed holidays)."""
    with current_db().transaction(readonly=True) as conn:
        return {"items": queries.list_calendar_days(conn, start=args.get("from_"), end=args.get("to"))}


def _parse_day(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise Invalid("Ngày không hợp lệ.", {"path": {"date": ["expected YYYY-MM-DD"]}}) from None


@calendar_blp.put("/days/<day>")
@officer_required(_kit, "admin")
@calendar_blp.arguments(CalendarDayBodySchema)
@calendar_blp.response(200, CalendarDaySchema)
def put_day(body, day):
    """Mark a day off (`off`) or a swapped working day (`work`); admin only."""
    row = {"day": _parse_day(day), "kind": body["kind"], "note": body.get("note"), "updated_by": g.officer["sub"],
           "updated_at": utcnow()}
    with current_db().transaction() as conn:
        queries.upsert_calendar_day(conn, **row)
    return row


@stats_blp.get("/766")
@officer_required(_kit)
@stats_blp.arguments(StatsQuerySchema, location="query", unknown=RAISE)
@stats_blp.response(200, StatsSchema)
def indicators_766(args):
    """Decision 766 indicators 2.1, 2.2, 3.3, 3.6, 4.1, 4.2, 5.4 for the officer's agency over [from, to]
    (local days, inclusive), with the province's targets for the agency and its standing against them."""
    if args["to"] < args["from_"]:
        raise Invalid("Khoảng thời gian không hợp lệ.", {"query": {"to": ["must not be before from"]}})
    settings = current_settings()
    agency = g.officer["agency"]
    period = stats.Period.of_days(args["from_"], args["to"])
    with current_db().transaction(readonly=True) as conn:
        calendar = use_cases.load_calendar(conn, settings.working_hours)
        rows = queries.list_cases_for_stats(conn, agency, period.start, period.end)
    result = stats.compute(rows, period, calendar, settings.targets_for(agency))
    return {"agency": agency, "from_": args["from_"], "to": args["to"], **result}


@calendar_blp.delete("/days/<day>")
@officer_required(_kit, "admin")
@calendar_blp.response(204)
def delete_day(day):
    """Drop the admin's entry for a day: it follows the computed calendar (weekends, holidays) again."""
    with current_db().transaction() as conn:
        if not queries.delete_calendar_day(conn, _parse_day(day)):
            raise NotFound("Ngày này không có trong bảng điều chỉnh lịch (no entry for this day)")


@sync_blp.get("")
@officer_required(_kit, "admin")
@sync_blp.arguments(SyncQuerySchema, location="query", unknown=RAISE)
@sync_blp.response(200, SyncListSchema)
def list_sync(args):
    """The agency's national portal sync steps that are parked (refused by the portal) or still pending, oldest
    first, each with the portal's last answer."""
    with current_db().transaction(readonly=True) as conn:
        steps = queries.list_sync_steps(conn, g.officer["agency"], args["state"])
    return {"items": [use_cases.sync_step_view(step) for step in steps]}


@sync_blp.post("/<code>/resync")
@officer_required(_kit, "admin")
@sync_blp.response(200, ResyncSchema)
@sync_blp.alt_response(404, description="unknown dossier, or another agency's")
@sync_blp.alt_response(409, description="the dossier has no parked step")
def resync(code):
    """Put the dossier's parked steps back in the queue, in their order (audited)."""
    with current_db().transaction() as conn:
        requeued = use_cases.resync_dossier(conn, code, officer=g.officer)
    return {"code": code, "requeued": requeued}
