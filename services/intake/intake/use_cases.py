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
from servicekit.web import DomainError, Invalid

from . import queries
from .catalogue import ProcedureCatalogue
from .config import Settings
from .events import DOSSIER_SUBMITTED
from .models import outbox

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

# Compared against when the code is unknown, so a miss costs the same as a wrong token.
_NO_HASH = "0" * 64


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


def file_dossier(conn: Connection, catalogue: ProcedureCatalogue, settings: Settings, data: dict) -> Filed:
    """Store a filed dossier (national status 1), its first timeline entry and dossier.submitted.v1."""
    procedure = catalogue.get(conn, data["procedure_code"])
    if procedure is None:
        raise _invalid("Thủ tục không tồn tại (unknown procedure)",
                       {"procedure_code": [f"Không có thủ tục mã {data['procedure_code']} (unknown procedure code)"]})
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
        documents=data["documents"], delivery_method=delivery["method"], delivery_address=address,
        notify_channels=data["notify_channels"], channel=data["channel"], status="submitted",
        access_token_hash=token_hash, fee_procedure_vnd=procedure.fee_vnd, fee_postal_vnd=postal_vnd,
        submitted_at=moment, updated_at=moment,
    )
    queries.insert_timeline(
        conn, dossier_code=code, at=moment, status="submitted",
        note="Hồ sơ đã được nộp trực tuyến" if data["channel"] == "online" else "Hồ sơ được nộp tại quầy một cửa",
    )
    record_event(conn, outbox, DOSSIER_SUBMITTED, {
        "code": code,
        "procedure": {"code": procedure.code, "name": procedure.name, "level": procedure.level,
                      "processing_days": procedure.processing_days, "fee_vnd": procedure.fee_vnd,
                      "fee_mode": procedure.fee_mode, "result_is_paper": procedure.result_is_paper},
        "agency": {"code": procedure.agency_code, "name": procedure.agency_name},
        "applicant": {"type": applicant["type"], "full_name": applicant["full_name"],
                      "id_number": applicant["id_number"], "phone": applicant.get("phone"),
                      "email": applicant.get("email"), "address": applicant["address"]},
        "delivery": {"method": delivery["method"], "address": address},
        "notify_channels": data["notify_channels"],
        "channel": data["channel"],
        "submitted_at": rfc3339(moment),
        "fees": {"procedure_vnd": procedure.fee_vnd, "postal_vnd": postal_vnd},
    }, source="intake", subject=code)
    return Filed(code=code, access_token=token, submitted_at=moment, procedure_vnd=procedure.fee_vnd,
                 postal_vnd=postal_vnd, procedure_code=procedure.code, channel=data["channel"],
                 phone=applicant.get("phone"), id_number=applicant["id_number"])


def citizen_view(conn: Connection, dossier) -> dict:
    """What the citizen sees of their dossier; parts other services fill in later stay null until then."""
    payment = queries.get_latest_payment(conn, dossier.code)
    shipment = queries.get_latest_shipment(conn, dossier.code, RETURN_SERVICE)
    return {
        "code": dossier.code,
        "procedure": {"code": dossier.procedure_code, "name": dossier.procedure_name},
        "status": dossier.status,
        "status_code": STATUS_CODES[dossier.status],
        "overdue": False,
        "submitted_at": dossier.submitted_at,
        "received_at": None,
        "due_at": None,
        "completed_at": None,
        "payment": payment._asdict() if payment is not None else None,
        "delivery": {"method": dossier.delivery_method,
                     "tracking_no": shipment.tracking_no if shipment is not None else None,
                     "status": shipment.status if shipment is not None else None},
        "supplement_request": None,
        "timeline": [row._asdict() for row in queries.list_timeline(conn, dossier.code)],
    }


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
    """The dossier when `token` is its current access token, else None (unknown code and wrong token alike)."""
    dossier = queries.get_dossier(conn, code)
    stored = dossier.access_token_hash if dossier is not None else _NO_HASH
    if hmac.compare_digest(stored, hash_token(token)) and dossier is not None:
        return dossier
    return None


def canonical_id_number(raw: str) -> str:
    """ID numbers as stored: digits, and a 13-digit tax code (a branch) written 0123456789-001."""
    compact = "".join(raw.split())
    if len(compact) == 13 and compact.isdigit():
        return f"{compact[:10]}-{compact[10:]}"
    return compact


def lookup_dossier(conn: Connection, settings: Settings, code: str, id_number: str, client_ip: str):
    """Dossier code plus ID number give the view and a fresh token (the old one stops working).

    Returns None on a mismatch after counting it against the client; raises RateLimited while the
    client has used up its misses, whether or not this attempt would match.
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
    queries.set_access_token_hash(conn, dossier.code, token_hash, moment)
    return {**citizen_view(conn, dossier), "access_token": token}
