"""Intake's rules: functions that take a connection, never commit, and record events in the outbox."""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection

from servicekit.events import MalformedEvent, rfc3339
from servicekit.outbox import record_event
from servicekit.tables import now
from servicekit.web import Conflict, DomainError, Forbidden, Invalid, NotFound

from . import queries
from .catalogue import ProcedureCatalogue
from .config import Settings
from .events import DOSSIER_RATED, DOSSIER_SUBMITTED, DOSSIER_SUPPLEMENTED, DOSSIER_WITHDRAWAL_REQUESTED
from .models import dossiers, outbox

# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset needs no tz database.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# The national (DVCQG) status codes the citizen sees beside the status name.
STATUS_CODES = {
    "submitted": 1, "received": 2, "refused": 3, "in_review": 4, "supplement_requested": 5,
    "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "result_ready": 9, "returned": 10,
}

# Postal's service for sending the result back to the citizen: the shipment the view's `delivery` shows
# (a "collect" shipment brings the dossier in and is not the delivery of the result).
RETURN_SERVICE = "return"

class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Filed:
    code: str
    access_token: str
    submitted_at: datetime
    procedure_vnd: int
    postal_vnd: int
    procedure_code: str
    channel: str
    phone: str | None
    id_number: str


def _invalid(message: str, errors: dict) -> Invalid:
    # Same shape as a schema error from flask-smorest, so the front end reads one structure for both.
    return Invalid(message, errors={"json": errors})


def dossier_day(moment: datetime) -> str:
    """The reception date of the dossier code: the Vietnamese calendar day, not the UTC one."""
    return moment.astimezone(VIETNAM).strftime("%y%m%d")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _pad(secret: str, code: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), b"intake.access-token.v1:" + code.encode("utf-8"), hashlib.sha256).digest()


def seal_token(secret: str, code: str, token: str) -> str:
    """The filing token as kept for idempotent replays: XOR with a keyed pad unique to the dossier code.

    token_urlsafe(32) is 32 random bytes; the pad is HMAC-SHA256(secret, code), used for this one token
    only (a dossier code is filed once), so the stored value tells nothing without INTAKE_TOKEN_SECRET.
    """
    raw = base64.urlsafe_b64decode(token + "=")
    return bytes(a ^ b for a, b in zip(raw, _pad(secret, code))).hex()


def unseal_token(secret: str, code: str, sealed: str) -> str:
    raw = bytes(a ^ b for a, b in zip(bytes.fromhex(sealed), _pad(secret, code)))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def _check_counter_filing(procedure, officer: dict | None) -> str | None:
    """channel=counter: the filer must be a clerk of the procedure's agency; returns the clerk's sub."""
    if officer is None:
        return None
    if officer.get("role") != "clerk" or officer.get("agency") != procedure.agency_code:
        raise Forbidden("Chỉ cán bộ một cửa của cơ quan giải quyết thủ tục được nộp hồ sơ tại quầy "
                        "(counter filing needs a clerk of the procedure's agency)")
    return officer["sub"]


def check_rate_limits(conn: Connection, settings: Settings, limits: list[tuple[str, int]], what: str) -> None:
    """Count one hit in each (bucket, maximum) and refuse with 429 when one is over; a maximum of 0 is off."""
    active = {bucket: maximum for bucket, maximum in limits if maximum > 0}
    if not active:
        return
    moment = now()
    window = timedelta(seconds=settings.filing_window_seconds)
    counts = queries.hit_rate_limits(conn, sorted(active), moment, window)
    over = [(bucket, started) for bucket, (hits, started) in counts.items() if hits > active[bucket]]
    if over:
        retry_after = max(math.ceil((started + window - moment).total_seconds()) for _bucket, started in over)
        raise RateLimited(f"Quá nhiều yêu cầu {what}, vui lòng thử lại sau (too many requests)",
                          retry_after=max(retry_after, 1))


def filing_limits(settings: Settings, data: dict, client_ip: str) -> list[tuple[str, int]]:
    applicant = data["applicant"]
    limits = []
    if data["channel"] != "counter":  # a clerk's desk files for many people from one address
        limits.append((f"filing:client:{client_ip}"[:120], settings.filing_max_per_client))
    if applicant.get("phone"):
        limits.append((f"filing:phone:{applicant['phone']}", settings.filing_max_per_phone))
    if applicant.get("email"):
        limits.append((f"filing:email:{applicant['email'].lower()}"[:120], settings.filing_max_per_phone))
    return limits


def check_documents(conn: Connection, given: list[dict], names: dict[str, str], field: str = "documents") -> list[dict]:
    """Every upload exists, is not attached to a dossier, and appears once; 422 naming each bad entry.

    Returns the documents as published: code, name, upload_id, filename, sha256, size.
    """
    found = queries.get_uploads(conn, [doc["upload_id"] for doc in given])
    errors, seen, documents = {}, set(), []
    for index, doc in enumerate(given):
        upload = found.get(doc["upload_id"])
        if upload is None:
            errors[str(index)] = {"upload_id": [f"Không có tệp tải lên mã {doc['upload_id']} (unknown upload_id; "
                                                "upload it first with POST /v1/uploads)"]}
        elif upload.dossier_code is not None or doc["upload_id"] in seen:
            errors[str(index)] = {"upload_id": [f"Tệp {doc['upload_id']} đã được dùng cho hồ sơ khác "
                                                "(upload_id already attached to a dossier)"]}
        else:
            documents.append({"code": doc["code"], "name": names.get(doc["code"], doc["code"]), "upload_id": upload.id,
                              "filename": upload.filename, "sha256": upload.sha256, "size": upload.size})
        seen.add(doc["upload_id"])
    if errors:
        raise _invalid("Tệp đính kèm không hợp lệ (bad upload_id)", {field: errors})
    return documents


def _attach(conn: Connection, code: str, documents: list[dict], moment: datetime) -> None:
    if queries.attach_uploads(conn, code, documents, moment) != len(documents):
        # A concurrent request attached one of them between our check and now: refuse, nothing is kept.
        raise _invalid("Tệp đính kèm không hợp lệ (bad upload_id)",
                       {"documents": ["Một tệp vừa được dùng cho hồ sơ khác (an upload was just attached elsewhere)"]})


def file_dossier(conn: Connection, catalogue: ProcedureCatalogue, settings: Settings, data: dict, *,
                 client_ip: str = "unknown", officer: dict | None = None) -> Filed:
    """Store a filed dossier (national status 1), its token, first timeline entry and dossier.submitted.v1.

    `officer` is the verified JWT claims of a counter filing (channel=counter), else None.
    """
    procedure = catalogue.get(conn, data["procedure_code"])
    if procedure is None:
        raise _invalid("Thủ tục không tồn tại (unknown procedure)",
                       {"procedure_code": [f"Không có thủ tục mã {data['procedure_code']} (unknown procedure code)"]})
    if procedure.withdrawn:
        raise _invalid("Thủ tục đã ngừng áp dụng (procedure withdrawn from the national catalogue)",
                       {"procedure_code": [f"Thủ tục mã {procedure.code} không còn tiếp nhận hồ sơ mới "
                                           "(withdrawn: no new filings)"]})
    filed_by = _check_counter_filing(procedure, officer) if data["channel"] == "counter" else None
    delivery = data["delivery"]
    if delivery["method"] not in procedure.delivery_methods:
        raise _invalid("Thủ tục không hỗ trợ hình thức nhận kết quả này (delivery method not offered)",
                       {"delivery": {"method": [f"Chỉ nhận kết quả qua: {', '.join(procedure.delivery_methods)} "
                                                f"(offered: {', '.join(procedure.delivery_methods)})"]}})
    given = [doc["code"] for doc in data["documents"]]
    unknown = sorted(set(given) - procedure.document_codes)
    missing = [code for code in procedure.required_documents if code not in given]
    if unknown or missing:
        messages = []
        if missing:
            messages.append(f"Thiếu giấy tờ bắt buộc (missing required documents): {', '.join(missing)}")
        if unknown:
            messages.append(f"Giấy tờ không thuộc thủ tục này (unknown document codes): {', '.join(unknown)}")
        raise _invalid("Thành phần hồ sơ chưa đúng (documents do not match the procedure)", {"documents": messages})
    names = {doc["code"]: doc["name"] for doc in procedure.documents}
    documents = check_documents(conn, data["documents"], names)
    check_rate_limits(conn, settings, filing_limits(settings, data, client_ip), "nộp hồ sơ")

    moment = now()
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # what the API shows: milliseconds
    number = queries.next_dossier_number(conn, procedure.agency_code, dossier_day(moment))
    code = f"{procedure.agency_code}-{dossier_day(moment)}-{number:04d}"
    token, token_hash = new_token()
    applicant = data["applicant"]
    address = delivery.get("address") if delivery["method"] == "post" else None
    if address is not None:
        address = {"street": address["street"], "commune": address["commune"], "province": address["province"],
                   "recipient_name": address.get("recipient_name"), "phone": address.get("phone")}
    # Return of the result by post is one direction at the citizen price; collection of the dossier
    # (the other direction) does not arise for a dossier filed online with uploaded documents.
    postal_vnd = settings.postal_citizen_price_vnd if delivery["method"] == "post" else 0
    queries.insert_dossier(
        conn,
        code=code, procedure_code=procedure.code, procedure_name=procedure.name, agency_code=procedure.agency_code,
        applicant_type=applicant["type"], applicant_name=applicant["full_name"], id_number=applicant["id_number"],
        phone=applicant.get("phone"), email=applicant.get("email"), applicant_address=applicant["address"],
        documents=documents, delivery_method=delivery["method"], delivery_address=address,
        notify_channels=data["notify_channels"], channel=data["channel"], status="submitted",
        fee_procedure_vnd=procedure.fee_vnd, fee_postal_vnd=postal_vnd, submitted_at=moment, updated_at=moment,
        agency_name=procedure.agency_name, processing_days=procedure.processing_days, fee_mode=procedure.fee_mode,
        filed_by=filed_by, last_seq=0,
    )
    queries.insert_access_token(conn, dossier_code=code, token_hash=token_hash, kind="filing", created_at=moment,
                                expires_at=moment + timedelta(days=settings.filing_token_days), revoked_at=None)
    _attach(conn, code, documents, moment)
    queries.insert_timeline(
        conn, dossier_code=code, at=moment, status="submitted", event_key="filed",
        note="Hồ sơ đã được nộp trực tuyến" if data["channel"] == "online" else "Hồ sơ được nộp tại quầy một cửa",
    )
    record_event(conn, outbox, DOSSIER_SUBMITTED, {
        "code": code,
        "procedure": {"code": procedure.code, "name": procedure.name, "level": procedure.level,
                      "processing_days": procedure.processing_days, "fee_vnd": procedure.fee_vnd,
                      "fee_mode": procedure.fee_mode, "result_is_paper": procedure.result_is_paper,
                      "documents": [{"code": d["code"], "name": d["name"], "required": bool(d["required"])}
                                    for d in procedure.documents],
                      "field_code": procedure.field_code, "field_name": procedure.field_name},
        "agency": {"code": procedure.agency_code, "name": procedure.agency_name},
        "applicant": {"type": applicant["type"], "full_name": applicant["full_name"],
                      "id_number": applicant["id_number"], "phone": applicant.get("phone"),
                      "email": applicant.get("email"), "address": applicant["address"]},
        "delivery": {"method": delivery["method"], "address": address},
        "notify_channels": data["notify_channels"],
        "channel": data["channel"],
        "submitted_at": rfc3339(moment),
        "fees": {"procedure_vnd": procedure.fee_vnd, "postal_vnd": postal_vnd},
        "documents": documents,
        "filed_by": filed_by,
    }, source="intake", subject=code)
    return Filed(code=code, access_token=token, submitted_at=moment, procedure_vnd=procedure.fee_vnd,
                 postal_vnd=postal_vnd, procedure_code=procedure.code, channel=data["channel"],
                 phone=applicant.get("phone"), id_number=applicant["id_number"])


# ---- uploads ------------------------------------------------------------------------------------------
def store_upload(conn: Connection, stored, filename: str) -> dict:
    """Record a file already written by the FileStore (the caller deletes it if this transaction fails)."""
    moment = now()
    queries.insert_upload(conn, id=stored.id, filename=filename, content_type=stored.content_type, size=stored.size,
                          sha256=stored.sha256, created_at=moment, dossier_code=None, attached_at=None)
    return {"id": stored.id, "filename": filename, "size": stored.size, "sha256": stored.sha256,
            "content_type": stored.content_type}


def sweep_uploads(db, store, settings: Settings) -> int:
    """The worker's periodic job: forget uploads never attached after INTAKE_UPLOAD_MAX_AGE_HOURS, then
    delete their files (after the commit, so a file never goes while its row could still be attached)."""
    cutoff = now() - timedelta(hours=settings.upload_max_age_hours)
    removed = 0
    while True:
        with db.transaction() as conn:
            ids = queries.delete_stale_uploads(conn, cutoff)
            queries.delete_ended_rate_limits(conn, now() - timedelta(seconds=settings.filing_window_seconds))
        for file_id in ids:
            store.delete(file_id)
        removed += len(ids)
        if len(ids) < 500:
            return removed


def format_vnd(amount: int) -> str:
    """Whole đồng the Vietnamese way, thousands grouped by dots: 50000 -> "50.000"."""
    return f"{amount:,}".replace(",", ".")


def _status_of_known_dossier(conn: Connection, code: str, what: str) -> str:
    status = queries.get_dossier_status(conn, code)
    if status is None:
        # Every dossier is filed here first and other services learn of it from our own event, so this is
        # not a race to wait out: retrying cannot help, the producer named a dossier that does not exist.
        raise MalformedEvent(f"{what} names dossier {code!r}, which intake never filed (a bug upstream)")
    return status


def record_payment_requested(conn: Connection, data: dict) -> bool:
    """Show the citizen the fee to pay and its QR, with a timeline note; the dossier's status is unchanged.

    One effect per payment order (its reference), however often the request is delivered or re-published.
    Returns False when the order was already recorded.
    """
    code = data["dossier_code"]
    status = _status_of_known_dossier(conn, code, f"payment request {data['reference']}")
    moment = now()
    recorded = queries.insert_payment(
        conn, dossier_code=code, reference=data["reference"], status="pending", amount_vnd=data["amount_vnd"],
        qr_payload=data["qr_payload"], expires_at=data["expires_at"], requested_at=moment, updated_at=moment,
    )
    if recorded:
        queries.insert_timeline(conn, dossier_code=code, at=moment, status=status,
                                event_key=f"payment:{data['reference']}:requested",
                                note=f"Yêu cầu nộp phí, lệ phí: {format_vnd(data['amount_vnd'])} đồng")
    return recorded


def record_shipment_created(conn: Connection, data: dict) -> bool:
    """Keep the shipment's tracking number and status for the view's delivery; once per tracking number.

    Returns False when the shipment was already recorded.
    """
    code = data["dossier_code"]
    _status_of_known_dossier(conn, code, f"shipment {data['tracking_no']}")
    moment = now()
    return queries.insert_shipment(
        conn, dossier_code=code, tracking_no=data["tracking_no"], service=data["service"], status=data["status"],
        created_at=moment, updated_at=moment,
    )


def find_dossier_by_token(conn: Connection, code: str, token: str):
    """The dossier when `token` is one of its live access tokens, else None (unknown code and wrong token alike).

    The token is found by its SHA-256 through a unique index; a wrong token costs the same as an unknown code.
    """
    found = queries.find_live_token(conn, code, hash_token(token), now())
    if found is None:
        return None
    return queries.get_dossier(conn, code)


def token_of(conn: Connection, code: str, token: str):
    """(token id, kind) of a live token of the dossier, or None."""
    return queries.find_live_token(conn, code, hash_token(token), now())


def canonical_id_number(raw: str) -> str:
    """ID numbers as stored: digits, and a 13-digit tax code (a branch) written 0123456789-001."""
    compact = "".join(raw.split())
    if len(compact) == 13 and compact.isdigit():
        return f"{compact[:10]}-{compact[10:]}"
    return compact


def lookup_dossier(conn: Connection, settings: Settings, code: str, id_number: str, client_ip: str):
    """Dossier code plus ID number give the view and a fresh token; every other token keeps working.

    A lookup only adds a token (at most INTAKE_MAX_LOOKUP_TOKENS lookup tokens live; the oldest gives way),
    so whoever knows a code and an ID number cannot lock the citizen out, and the filing's token (what an
    idempotent replay of the filing hands back) stays valid. Returns None on a mismatch after counting it
    against the client; raises RateLimited while the client has used up its misses.
    """
    moment = now()
    window = timedelta(seconds=settings.lookup_window_seconds)
    limit = queries.get_lookup_limit(conn, client_ip)
    if limit is not None and limit.misses >= settings.lookup_max_misses and limit.window_started_at > moment - window:
        retry_after = math.ceil((limit.window_started_at + window - moment).total_seconds())
        raise RateLimited("Tra cứu sai quá nhiều lần, vui lòng thử lại sau (too many failed lookups)",
                          retry_after=max(retry_after, 1))
    dossier = queries.get_dossier(conn, code)
    stored = dossier.id_number if dossier is not None else ""
    if dossier is None or not hmac.compare_digest(stored.encode(), canonical_id_number(id_number).encode()):
        queries.record_lookup_miss(conn, client_ip, moment, window)
        return None
    token, token_hash = new_token()
    queries.insert_access_token(conn, dossier_code=dossier.code, token_hash=token_hash, kind="lookup",
                                created_at=moment, expires_at=moment + timedelta(days=settings.lookup_token_days),
                                revoked_at=None)
    queries.revoke_surplus_lookup_tokens(conn, dossier.code, settings.max_lookup_tokens, moment)
    return {**citizen_view(conn, dossier), "access_token": token}


def revoke_tokens(conn: Connection, dossier, token: str, scope: str) -> int:
    """scope "current": this token stops working (a lookup token; the filing's is kept for replays).
    scope "lookups": every lookup token stops working; only the filing's token may ask this."""
    current = token_of(conn, dossier.code, token)
    moment = now()
    if scope == "current":
        if current.kind == "filing":
            raise Conflict("Mã truy cập cấp khi nộp hồ sơ không thu hồi được; nó hết hạn sau thời hạn quy định "
                           "(the filing token cannot be revoked; it expires)")
        return queries.revoke_tokens(conn, dossier.code, moment, token_id=current.id)
    if current.kind != "filing":
        raise Forbidden("Chỉ mã truy cập cấp khi nộp hồ sơ được thu hồi các mã tra cứu "
                        "(only the filing token may revoke lookup tokens)")
    return queries.revoke_tokens(conn, dossier.code, moment, kind="lookup")


# ---- the citizen's view ---------------------------------------------------------------------------------
# Overdue is derived, never stored: now past the due date while the dossier is with the agency (2 or 4).
# The clock is paused in supplement_requested, and a dossier with a result is no longer running late.
_CLOCK_RUNNING = ("received", "in_review")


def is_overdue(status: str, due_at: datetime | None, moment: datetime) -> bool:
    return due_at is not None and status in _CLOCK_RUNNING and moment > due_at


def citizen_view(conn: Connection, dossier) -> dict:
    """What the citizen sees of their dossier, kept current by processing's, payment's and postal's events."""
    payment = queries.get_latest_payment(conn, dossier.code)
    shipment = queries.get_latest_shipment(conn, dossier.code, RETURN_SERVICE)
    request = queries.get_open_supplement_request(conn, dossier.code)
    rating = queries.get_rating(conn, dossier.code)
    return {
        "code": dossier.code,
        "procedure": {"code": dossier.procedure_code, "name": dossier.procedure_name},
        "status": dossier.status,
        "status_code": STATUS_CODES[dossier.status],
        "overdue": is_overdue(dossier.status, dossier.due_at, now()),
        "submitted_at": dossier.submitted_at,
        "received_at": dossier.received_at,
        "due_at": dossier.due_at,
        "completed_at": dossier.completed_at,
        # The QR payload only while the order can be paid: a settled order's QR must not invite a second payment.
        "payment": None if payment is None else {
            **payment._asdict(), "qr_payload": payment.qr_payload if payment.status == "pending" else None},
        "delivery": {"method": dossier.delivery_method,
                     "tracking_no": shipment.tracking_no if shipment is not None else None,
                     "status": shipment.status if shipment is not None else None},
        "supplement_request": None if request is None else {
            "request_no": request.request_no, "reason": request.reason, "documents": request.documents,
            "deadline": request.deadline, "requested_at": request.requested_at, "answered_at": request.answered_at},
        "withdrawal": None if dossier.withdrawal_status is None else {
            "status": dossier.withdrawal_status, "reason": dossier.withdrawal_reason,
            "requested_at": dossier.withdrawal_requested_at, "answer": dossier.withdrawal_answer},
        # The electronic result once processing issued it (dossier.result_ready.v1): GET .../result.pdf.
        "result": None if dossier.result_file_id is None else {
            "available": True, "paper_original": bool(dossier.result_paper_original),
            "sha256": dossier.result_sha256},
        "rating": rating._asdict() if rating is not None else None,
        "timeline": timeline_view(queries.list_timeline(conn, dossier.code)),
    }


def timeline_view(rows) -> list[dict]:
    """The timeline by moment. A note (payment, shipment, the citizen's own step) shows the status the dossier had
    at that moment, the status of the last step before it: not whatever intake knew when the note's event
    arrived, since events from different services arrive in any order."""
    entries, current = [], None
    for row in rows:
        if row.event_key == "filed" or (row.event_key or "").startswith("seq:"):
            current = row.status
        entries.append({"at": row.at, "status": row.status if current is None else current, "note": row.note})
    return entries


def _vn_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def _vn_date(moment) -> str:
    return moment.strftime("%d/%m/%Y")


_RETURN_PLACE = {"counter": "mời nhận kết quả tại bộ phận một cửa", "post": "kết quả được gửi qua bưu chính công ích"}


def _processing_note(type_name: str, data: dict) -> str:
    kind = type_name.split(".")[1]
    if kind == "payment_required":
        return (f"Hồ sơ chờ thực hiện nghĩa vụ tài chính ({format_vnd(data['amount_vnd'])} đồng) "
                "trước khi được giải quyết")
    if kind == "payment_received":
        return "Đã nhận thanh toán phí, lệ phí; hồ sơ chờ tiếp nhận"
    if kind == "received":
        return f"Hồ sơ đã được tiếp nhận. Ngày hẹn trả kết quả: {_vn_time(data['due_at'])}"
    if kind == "refused":
        return f"Hồ sơ không được tiếp nhận. Lý do: {data['reason']}"
    if kind == "supplement_requested":
        return (f"Yêu cầu bổ sung hồ sơ (lần {data['request_no']}): {data['reason']}. "
                f"Hạn bổ sung: {_vn_date(data['deadline'])}")
    if kind == "supplement_received":
        return "Đã nhận hồ sơ bổ sung, tiếp tục giải quyết" + (
            f". Ngày hẹn trả kết quả mới: {_vn_time(data['due_at'])}" if data.get("due_at") else "")
    if kind == "assigned":
        return "Hồ sơ đã được chuyển đến bộ phận chuyên môn xử lý"
    if kind == "approval_requested":
        return "Hồ sơ đã được thẩm định, đang trình lãnh đạo ký duyệt"
    if kind == "approved":
        return "Lãnh đạo đã ký duyệt kết quả"
    if kind == "rejected":
        return f"Hồ sơ không được giải quyết. Lý do: {data['reason']}"
    if kind == "stopped":
        return f"Dừng xử lý hồ sơ. Lý do: {data['reason']}"
    if kind == "result_ready":
        return f"Đã có kết quả giải quyết, {_RETURN_PLACE[data['delivery_method']]}"
    if kind == "returned":
        return "Đã trả kết quả" + (" qua bưu chính" if data["via"] == "post" else " tại bộ phận một cửa")
    if kind == "apology_issued":
        return (f"Cơ quan giải quyết xin lỗi vì trễ hẹn (phiếu xin lỗi): {data['reason']}. "
                f"Ngày hẹn trả kết quả mới: {_vn_time(data['new_due_at'])}")
    if kind == "due_soon":
        return f"Hồ sơ sắp đến hạn trả kết quả ({_vn_time(data['due_at'])})"
    if kind == "overdue":
        return f"Hồ sơ đã quá hạn trả kết quả ({_vn_time(data['due_at'])})"
    if kind == "withdrawn":
        return f"Hồ sơ đã được rút theo yêu cầu của công dân: {data['reason']}"
    if kind == "withdrawal_refused":
        return f"Yêu cầu rút hồ sơ không được chấp nhận. Lý do: {data['reason']}"
    raise MalformedEvent(f"intake has no timeline note for {type_name}")


# Edges after which the dossier is finished at the agency (completed_at), and after which no supplement
# request stays open.
_ENDS = ("refused", "rejected", "stopped", "withdrawn", "result_ready")


def apply_processing_event(conn: Connection, type_name: str, data: dict) -> bool:
    """Follow one of processing's dossier events; returns True when it was newer than the view.

    Every event gets its timeline entry (once per seq, in its place by time). Only an event whose seq is
    above the last applied changes status and dates: an older one arriving late never moves the view back,
    except that a date still unknown (received_at) is filled in.
    """
    code, seq, at = data["code"], data["seq"], data["at"]
    _status_of_known_dossier(conn, code, f"{type_name} seq {seq}")
    kind = type_name.split(".")[1]
    moment = now()
    values = {"status": data["status"], "updated_at": moment}
    if kind == "received":
        values.update(received_at=data["received_at"], due_at=data["due_at"])
    elif kind == "supplement_received" and data.get("due_at") is not None:
        values["due_at"] = data["due_at"]
    elif kind == "apology_issued":
        values["due_at"] = data["new_due_at"]
    elif kind in _ENDS:
        values["completed_at"] = at
    newer = queries.advance_dossier(conn, code, seq, **values)
    if kind == "received" and not newer:
        queries.update_dossier(conn, code, dossiers.c.received_at.is_(None), received_at=data["received_at"])
        queries.update_dossier(conn, code, dossiers.c.due_at.is_(None), due_at=data["due_at"])
    if kind in ("returned", *_ENDS):
        # completed_at is the first end: a returned dossier whose result_ready has not arrived yet.
        queries.update_dossier(conn, code, dossiers.c.completed_at.is_(None), completed_at=at)
    if newer:
        if kind == "supplement_requested":
            queries.close_supplement_requests(conn, code, moment, below_no=data["request_no"])
            queries.insert_supplement_request(
                conn, dossier_code=code, request_no=data["request_no"], reason=data["reason"],
                documents=[{"code": d["code"], "name": d["name"]} for d in data["documents"]],
                deadline=data["deadline"].isoformat(), requested_at=at, answered_at=None, closed_at=None)
        elif kind == "supplement_received" or kind in _ENDS:
            queries.close_supplement_requests(conn, code, moment)
    if kind == "result_ready":
        # Whatever the order of arrival (a returned may have overtaken it): the result is issued once.
        queries.update_dossier(conn, code, dossiers.c.result_file_id.is_(None), result_file_id=data["result_file_id"],
                               result_sha256=data["result_sha256"], result_paper_original=data["paper_original"])
    if kind == "withdrawn":
        queries.update_dossier(conn, code, dossiers.c.withdrawal_status == "requested",
                               withdrawal_status="accepted", withdrawal_answer=data["reason"])
    elif kind == "withdrawal_refused":
        queries.update_dossier(conn, code, dossiers.c.withdrawal_status == "requested",
                               withdrawal_status="refused", withdrawal_answer=data["reason"])
    queries.insert_timeline_once(conn, dossier_code=code, at=at, status=data["status"], event_key=f"seq:{seq}",
                                 note=_processing_note(type_name, data))
    return newer


class NotYetKnown(Exception):
    """News of a payment order or shipment whose creation event has not arrived yet: retried later.

    Not a MalformedEvent: payment.requested / shipment.created is on its way (redelivery can reorder), so
    the consumer's delayed retry lets it land first.
    """


# Payment order states, each reachable only from the ones before it: a late event never moves it back.
_PAYMENT_FROM = {
    "paid": ("pending", "expired", "cancelled"),
    "expired": ("pending",),
    "cancelled": ("pending",),
    "refunded": ("pending", "expired", "cancelled", "paid"),
}
_PAYMENT_NOTES = {
    "paid": "Đã thanh toán phí, lệ phí: {amount} đồng",
    "expired": "Yêu cầu thanh toán đã hết hạn",
    "cancelled": "Yêu cầu thanh toán đã được huỷ",
    "refunded": "Đã hoàn trả phí, lệ phí: {amount} đồng",
}


def apply_payment_event(conn: Connection, status: str, data: dict, at: datetime) -> bool:
    """payment.completed / expired / cancelled / refunded: move the order on, note it in the timeline."""
    payment = queries.get_payment(conn, data["reference"])
    if payment is None:
        _status_of_known_dossier(conn, data["dossier_code"], f"payment {data['reference']}")
        raise NotYetKnown(f"payment order {data['reference']} not known yet (payment.requested not arrived)")
    moment = now()
    values = {"status": status, "updated_at": moment}
    if status == "paid":
        values["paid_at"] = at
    elif status == "refunded":
        values["refunded_at"] = at
    changed = queries.update_payment(conn, data["reference"], _PAYMENT_FROM[status], **values)
    dossier_status = _status_of_known_dossier(conn, payment.dossier_code, f"payment {data['reference']}")
    queries.insert_timeline_once(
        conn, dossier_code=payment.dossier_code, at=at, status=dossier_status,
        event_key=f"payment:{data['reference']}:{status}",
        note=_PAYMENT_NOTES[status].format(amount=format_vnd(data.get("amount_vnd", payment.amount_vnd))))
    return changed


def note_payment_failed(conn: Connection, data: dict) -> None:
    """A failed attempt leaves the order open (still payable); the citizen sees the attempt in the timeline."""
    payment = queries.get_payment(conn, data["reference"])
    if payment is None:
        _status_of_known_dossier(conn, data["dossier_code"], f"payment {data['reference']}")
        raise NotYetKnown(f"payment order {data['reference']} not known yet (payment.requested not arrived)")
    status = _status_of_known_dossier(conn, payment.dossier_code, f"payment {data['reference']}")
    queries.insert_timeline_once(
        conn, dossier_code=payment.dossier_code, at=data["at"], status=status,
        event_key=f"payment:{data['reference']}:failed:{rfc3339(data['at'])}",
        note="Thanh toán chưa thành công, vui lòng thử lại")


_SHIPMENT_TERMINAL = ("delivered", "returned_to_sender", "cancelled")
_SHIPMENT_NOTES = {
    "dispatched": "Kết quả đã được giao cho bưu chính, mã vận đơn {tracking_no}",
    "accepted": "Bưu chính đã nhận đơn {tracking_no}",
    "picked_up": "Bưu chính đã lấy kết quả, mã vận đơn {tracking_no}",
    "in_transit": "Kết quả đang được vận chuyển ({tracking_no})",
    "failed_attempt": "Bưu chính phát không thành công, sẽ phát lại ({tracking_no})",
    "delivered": "Bưu chính đã phát kết quả thành công ({tracking_no})",
    "returned_to_sender": "Bưu chính không phát được, kết quả được chuyển hoàn ({tracking_no})",
    "cancelled": "Đơn gửi kết quả qua bưu chính đã huỷ ({tracking_no})",
}


def apply_shipment_event(conn: Connection, status: str, data: dict, at: datetime) -> bool:
    """shipment.dispatched / progressed / delivered / failed / cancelled: the delivery's latest true state.

    An end state (delivered, returned to sender, cancelled) is final; otherwise a report older than the
    last applied one is ignored. Timeline entries only for the return of the result.
    """
    shipment = queries.get_shipment(conn, data["tracking_no"])
    if shipment is None:
        _status_of_known_dossier(conn, data["dossier_code"], f"shipment {data['tracking_no']}")
        raise NotYetKnown(f"shipment {data['tracking_no']} not known yet (shipment.created not arrived)")
    changed = queries.update_shipment(conn, data["tracking_no"], status, at, _SHIPMENT_TERMINAL, now())
    if shipment.service == RETURN_SERVICE:
        dossier_status = _status_of_known_dossier(conn, shipment.dossier_code, f"shipment {data['tracking_no']}")
        note = _SHIPMENT_NOTES.get(status, "Bưu chính cập nhật trạng thái ({tracking_no})")
        if status == "returned_to_sender" and data.get("reason"):
            note += f": {data['reason']}"
        queries.insert_timeline_once(
            conn, dossier_code=shipment.dossier_code, at=at, status=dossier_status,
            event_key=f"shipment:{data['tracking_no']}:{status}:{rfc3339(at)}"[:120],
            note=note.format(tracking_no=data["tracking_no"]))
    return changed


# ---- the citizen's actions (with the access token) ------------------------------------------------------
def supplement(conn: Connection, catalogue: ProcedureCatalogue, dossier, data: dict) -> dict:
    """Answer the open supplement request with new uploads (and a note): dossier.supplemented.v1, once."""
    request = queries.get_open_supplement_request(conn, dossier.code)
    if request is None or dossier.status != "supplement_requested":
        raise Conflict("Hồ sơ không có yêu cầu bổ sung đang mở (no open supplement request)")
    if request.answered_at is not None:
        raise Conflict("Yêu cầu bổ sung này đã được trả lời, đang chờ cơ quan xử lý (already answered)")
    procedure = catalogue.get(conn, dossier.procedure_code)
    names = {doc["code"]: doc["name"] for doc in (procedure.documents if procedure else ())}
    names.update({doc["code"]: doc["name"] for doc in request.documents})
    given = [doc["code"] for doc in data["documents"]]
    unknown = sorted(set(given) - set(names))
    missing = [doc["code"] for doc in request.documents if doc["code"] not in given]
    if unknown or missing:
        messages = []
        if missing:
            messages.append(f"Thiếu giấy tờ được yêu cầu bổ sung (requested documents missing): {', '.join(missing)}")
        if unknown:
            messages.append(f"Giấy tờ không thuộc thủ tục này (unknown document codes): {', '.join(unknown)}")
        raise _invalid("Thành phần hồ sơ bổ sung chưa đúng (documents do not match the request)",
                       {"documents": messages})
    documents = check_documents(conn, data["documents"], names)
    moment = now()
    if not queries.mark_supplement_answered(conn, request.id, moment):
        raise Conflict("Yêu cầu bổ sung này đã được trả lời (already answered)")
    _attach(conn, dossier.code, documents, moment)
    queries.insert_timeline(conn, dossier_code=dossier.code, at=moment, status=dossier.status,
                            event_key=f"supplemented:{request.request_no}",
                            note=f"Công dân đã gửi hồ sơ bổ sung (lần {request.request_no})")
    record_event(conn, outbox, DOSSIER_SUPPLEMENTED, {
        "code": dossier.code, "agency_code": dossier.agency_code, "documents": documents,
        "note": data.get("note"), "supplemented_at": rfc3339(moment),
    }, source="intake", subject=dossier.code)
    return {"code": dossier.code, "request_no": request.request_no, "documents": documents,
            "supplemented_at": moment}


# Statuses from which processing accepts a withdrawal (EVENTS.md: 1|2|4|5|6 -> 7).
WITHDRAWABLE = ("submitted", "received", "in_review", "supplement_requested", "awaiting_payment")


def request_withdrawal(conn: Connection, dossier, reason: str) -> dict:
    """Ask processing to withdraw the dossier; its answer (withdrawn / refused) shows in the view."""
    if dossier.status not in WITHDRAWABLE:
        raise Conflict(f"Hồ sơ ở trạng thái {dossier.status} không thể rút (cannot withdraw in this state)")
    if dossier.withdrawal_status == "requested":
        raise Conflict("Yêu cầu rút hồ sơ đang chờ cơ quan trả lời (a withdrawal request is pending)")
    moment = now()
    changed = queries.update_dossier(
        conn, dossier.code, dossiers.c.status.in_(WITHDRAWABLE),
        dossiers.c.withdrawal_status.is_(None) | (dossiers.c.withdrawal_status != "requested"),
        withdrawal_status="requested", withdrawal_reason=reason, withdrawal_requested_at=moment,
        withdrawal_answer=None, updated_at=moment)
    if not changed:  # a concurrent request won
        raise Conflict("Yêu cầu rút hồ sơ đang chờ cơ quan trả lời (a withdrawal request is pending)")
    queries.insert_timeline(conn, dossier_code=dossier.code, at=moment, status=dossier.status,
                            event_key=f"withdrawal:{rfc3339(moment)}",
                            note=f"Công dân yêu cầu rút hồ sơ: {reason}")
    record_event(conn, outbox, DOSSIER_WITHDRAWAL_REQUESTED, {
        "code": dossier.code, "agency_code": dossier.agency_code, "reason": reason, "requested_at": rfc3339(moment),
    }, source="intake", subject=dossier.code)
    return {"status": "requested", "reason": reason, "requested_at": moment, "answer": None}


def rate(conn: Connection, dossier, score: int, comment: str | None) -> dict:
    """Rate the handling once the result is returned (status 10); once per dossier."""
    if dossier.status != "returned":
        raise Conflict("Chỉ đánh giá được sau khi đã nhận kết quả (rate only after the result is returned)")
    moment = now()
    if not queries.insert_rating(conn, dossier_code=dossier.code, score=score, comment=comment, rated_at=moment):
        raise Conflict("Hồ sơ đã được đánh giá (already rated)")
    queries.insert_timeline(conn, dossier_code=dossier.code, at=moment, status=dossier.status, event_key="rated",
                            note=f"Công dân đánh giá mức độ hài lòng: {score}/5")
    record_event(conn, outbox, DOSSIER_RATED, {
        "code": dossier.code, "agency_code": dossier.agency_code, "score": score, "comment": comment,
        "rated_at": rfc3339(moment),
    }, source="intake", subject=dossier.code)
    return {"score": score, "comment": comment, "rated_at": moment}


def payable_order(conn: Connection, dossier):
    """The order whose QR the citizen may pay: the latest, while pending. 404 without one, 409 once settled."""
    payment = queries.get_latest_payment(conn, dossier.code)
    if payment is None:
        raise NotFound("Hồ sơ chưa có yêu cầu thanh toán (no payment requested)")
    if payment.status != "pending":
        raise Conflict(f"Yêu cầu thanh toán không còn chờ thanh toán ({payment.status})")
    return payment
