"""A fake of intake's Citizen API and processing's Officer API that speaks CONTRACT.md (same paths, bodies and
error shape `{code, status, message, errors}`), with canned procedures and an in-memory workflow, so the portal's
tests run without the real services. One `World` holds the dossiers both fakes see."""
from __future__ import annotations

import hashlib

import io
import secrets
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jwt
import segno
from flask import Flask, Response, jsonify, request
import logging

from werkzeug.serving import make_server

logging.getLogger("werkzeug").setLevel(logging.WARNING)

from servicekit.config import DEV_JWT_SECRET

AGENCY = {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"}
AGENCY2 = {"code": "000.00.21.H56", "name": "Sở Tư pháp tỉnh Phú Thọ"}
PROCEDURES = [
    {"code": "1.001193.H56", "name": "Đăng ký khai sinh", "agency": AGENCY,
     "field": {"code": "HO_TICH", "name": "Hộ tịch"}, "level": "full_online",
     "processing_days": 1, "fee_vnd": 0, "fee_mode": "none",
     "documents": [{"code": "TK_KHAI_SINH", "name": "Tờ khai đăng ký khai sinh (theo mẫu)", "required": True},
                   {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh", "required": True},
                   {"code": "VB_UY_QUYEN", "name": "Văn bản ủy quyền (nếu có)", "required": False}],
     "delivery_methods": ["counter", "post"], "result_is_paper": True},
    {"code": "2.000908.H56", "name": "Cấp bản sao trích lục hộ tịch", "agency": AGENCY, "field": None,
     "level": "full_online",
     "processing_days": 2, "fee_vnd": 8000, "fee_mode": "before",
     "documents": [{"code": "TK_TRICH_LUC", "name": "Tờ khai cấp bản sao trích lục", "required": True}],
     "delivery_methods": ["counter"], "result_is_paper": True},
    {"code": "1.001612.H56", "name": "Cấp phiếu lý lịch tư pháp", "agency": AGENCY2, "level": "partial_online",
     "processing_days": 10, "fee_vnd": 200000, "fee_mode": "after",
     "documents": [{"code": "TK_LLTP", "name": "Tờ khai yêu cầu cấp phiếu lý lịch tư pháp", "required": True}],
     "delivery_methods": ["counter", "post"], "result_is_paper": True},
]
STATUS_LABELS = {"submitted": "Mới đăng ký", "received": "Được tiếp nhận", "refused": "Không được tiếp nhận",
                 "in_review": "Đang xử lý", "supplement_requested": "Yêu cầu bổ sung giấy tờ",
                 "awaiting_payment": "Yêu cầu thực hiện nghĩa vụ tài chính", "withdrawn": "Công dân yêu cầu rút hồ sơ",
                 "stopped": "Dừng xử lý", "result_ready": "Đã xử lý xong", "returned": "Đã trả kết quả"}
STATUS_CODES = {"submitted": 1, "received": 2, "refused": 3, "in_review": 4, "supplement_requested": 5,
                "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "result_ready": 9, "returned": 10}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _fold(text: str) -> str:
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(status: int, message: str, errors: dict | None = None):
    names = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
             413: "Payload Too Large", 422: "Unprocessable Entity", 429: "Too Many Requests"}
    body = {"code": status, "status": names.get(status, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def vietqr(amount: int, note: str) -> str:
    def f(tag, value):
        return f"{tag}{len(value):02d}{value}"

    body = (f("00", "01") + f("01", "12") + f("38", f("00", "A000000727") + f("01", f("00", "970436") +
            f("01", "0011001932418")) + f("02", "QRIBFTTA")) + f("53", "704") + f("54", str(amount)) + f("58", "VN")
            + f("62", f("08", note)) + "6304")
    return body + f"{_crc16(body.encode()):04X}"


@dataclass
class World:
    dossiers: dict = field(default_factory=dict)
    uploads: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    idempotency: dict = field(default_factory=dict)
    misses: int = 0
    seq: int = 0
    filings: int = 0  # POST /v1/dossiers that created a dossier
    posts: int = 0  # every POST /v1/dossiers
    rs256_public_key: object = None  # the fake IdP's key, when a test signs officers in by OpenID Connect
    conflict_next: str | None = None  # the next officer action answers 409 with this message (a race lost)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def procedure(self, code):
        return next((p for p in PROCEDURES if p["code"] == code), None)

    def add(self, *, procedure_code="1.001193.H56", status="submitted", id_number="001099012345",
            full_name="Nguyễn Thị Lan", delivery="counter", due_in_days=None, assignee=None) -> dict:
        with self.lock:
            self.seq += 1
            code = f"000.00.06.H56-261129-{self.seq:04d}"
        p = self.procedure(procedure_code)
        submitted = _now() - timedelta(days=2)
        d = {"code": code, "procedure": p, "status": status, "token": secrets.token_urlsafe(16),
             "applicant": {"type": "citizen", "full_name": full_name, "id_number": id_number, "phone": "84912345678",
                           "email": None, "address": "Số 1 đường Hai Bà Trưng, phường Phúc Yên, Phú Thọ"},
             "documents": [], "delivery": {"method": delivery, "address": None},
             "submitted_at": submitted, "received_at": None, "due_at": None, "completed_at": None,
             "timeline": [{"at": _iso(submitted), "status": "submitted", "note": "Nộp hồ sơ trực tuyến"}],
             "audit": [], "assignee": assignee, "approval": None, "payment": None, "supplement_request": None,
             "rating": None, "result_file_id": None, "paper_original": None, "approval_summary": None,
             "national_sync": None, "fee_paid": False, "tracking_no": None, "version": 1}
        if status != "submitted":
            d["received_at"] = submitted + timedelta(hours=2)
            d["timeline"].append({"at": _iso(d["received_at"]), "status": "received", "note": "Đã tiếp nhận"})
        if due_in_days is not None:
            d["due_at"] = _now() + timedelta(days=due_in_days)
        self.dossiers[code] = d
        return d

    def ask_for_payment(self, d) -> None:
        """The fee paid before processing: awaiting_payment with a pending order, as processing and payment do."""
        fee = d["procedure"]["fee_vnd"]
        self.move(d, "awaiting_payment", "Yêu cầu nộp phí, lệ phí", action="payment_required")
        d["payment"] = {"status": "pending", "amount_vnd": fee, "qr_payload": vietqr(fee, f"MC {d['code'][-11:]}"),
                        "expires_at": _iso(_now() + timedelta(days=3))}

    def move(self, d, status, note=None, actor="system", action="system"):
        self.audit(d, action, actor, d["status"], status, note)
        d["status"] = status
        d["timeline"].append({"at": _iso(_now()), "status": status, "note": note})

    def audit(self, d, action, actor, from_status, to_status, note=None):
        d["audit"].append({"at": _iso(_now()), "actor": actor, "action": action, "from_status": from_status,
                           "to_status": to_status, "note": note})

    def citizen_view(self, d) -> dict:
        p = d["procedure"]
        return {
            "code": d["code"], "procedure": {"code": p["code"], "name": p["name"]}, "status": d["status"],
            "status_code": STATUS_CODES[d["status"]],
            "overdue": bool(d["due_at"] and d["due_at"] < _now() and d["status"] in ("received", "in_review")),
            "submitted_at": _iso(d["submitted_at"]), "received_at": _iso(d["received_at"]), "due_at": _iso(d["due_at"]),
            "completed_at": _iso(d["completed_at"]), "payment": d["payment"],
            "delivery": {"method": d["delivery"]["method"], "tracking_no": d["tracking_no"],
                         "status": "in_transit" if d["tracking_no"] else None},
            "supplement_request": ({k: d["supplement_request"][k] for k in ("reason", "deadline")} | {
                "documents": [{"code": c, "name": next(x["name"] for x in p["documents"] if x["code"] == c)}
                              for c in d["supplement_request"]["documents"]]} if d["supplement_request"] else None),
            "withdrawal": d.get("withdrawal"),
            # the electronic result the citizen can download (GET .../result.pdf), as intake gives it
            "result": ({"available": True, "paper_original": d["paper_original"],
                        "sha256": hashlib.sha256(self.files[d["result_file_id"]]).hexdigest()}
                       if d["result_file_id"] else None),
            "rating": d["rating"],
            "timeline": d["timeline"],
        }


# ---- intake -------------------------------------------------------------------------------------------------
def intake_app(world: World) -> Flask:
    app = Flask("fake_intake")
    app.json.ensure_ascii = False

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": "intake"}

    @app.get("/v1/procedures")
    def procedures():
        q = _fold(request.args.get("q", "")).strip()
        agency = request.args.get("agency")
        level = request.args.get("level")
        if level and level not in ("full_online", "partial_online"):
            return _error(422, "Invalid", {"query": {"level": ["Must be one of: full_online, partial_online."]}})
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 20))
        items = [p for p in PROCEDURES if (not q or q in _fold(p["name"]) or q in p["code"].lower())
                 and (not agency or p["agency"]["code"] == agency) and (not level or p["level"] == level)]
        return {"items": items[(page - 1) * per_page: page * per_page], "page": page, "per_page": per_page,
                "total": len(items)}

    @app.get("/v1/procedures/<code>")
    def procedure(code):
        p = world.procedure(code)
        return p if p else _error(404, "Không tìm thấy thủ tục (procedure not found)")

    @app.get("/v1/procedures/<code>/qr.png")
    def procedure_qr(code):
        if not world.procedure(code):
            return _error(404, "Không tìm thấy thủ tục (procedure not found)")
        out = io.BytesIO()
        segno.make(f"http://127.0.0.1:8000/thu-tuc/{code}").save(out, kind="png", scale=5)
        return out.getvalue(), 200, {"Content-Type": "image/png"}

    @app.post("/v1/uploads")
    def upload():
        file = request.files.get("file")
        if file is None:
            return _error(422, "Invalid", {"file": ["Missing file"]})
        data = file.read()
        if len(data) > 10 * 1024 * 1024:
            return _error(413, "Tệp quá lớn (file too large)")
        kind = ("application/pdf" if data.startswith(b"%PDF") else "image/png" if data.startswith(b"\x89PNG")
                else "image/jpeg" if data.startswith(b"\xff\xd8\xff") else None)
        if kind is None:
            return _error(422, "Chỉ nhận PDF, JPEG, PNG (unsupported type)", {"file": ["unsupported content type"]})
        upload_id = uuid.uuid4().hex
        world.uploads[upload_id] = {"filename": file.filename, "size": len(data)}
        return {"id": upload_id, "filename": file.filename, "size": len(data), "sha256": "0" * 64,
                "content_type": kind}, 201

    @app.get("/v1/postal/quote")
    def quote():
        province = request.args.get("province", "")
        if _fold(province) not in ("phu tho", "ha noi", "tinh phu tho"):
            return _error(422, "Invalid", {"query": {"province": ["unknown province"]}})
        return {"service": request.args.get("service"), "weight_g": int(request.args.get("weight_g", 0)),
                "operator_vnd": 26000, "citizen_vnd": 10000, "subsidy_vnd": 16000}

    @app.post("/v1/dossiers")
    def file_dossier():
        world.posts += 1
        key = request.headers.get("Idempotency-Key")
        if not key:
            return _error(400, "Idempotency-Key header is required")
        body = request.get_json(silent=True) or {}
        with world.lock:
            if key in world.idempotency:
                previous_body, answer = world.idempotency[key]
                if previous_body != body:
                    return _error(409, "Idempotency-Key already used with another body")
                return answer, 201
        p = world.procedure(body.get("procedure_code"))
        errors = {}
        if p is None:
            errors["procedure_code"] = ["Unknown procedure"]
        applicant = body.get("applicant") or {}
        idn = applicant.get("id_number") or ""
        if applicant.get("type") == "citizen" and not (len(idn) == 12 and idn.isdigit()):
            errors.setdefault("applicant", {})["id_number"] = ["Số căn cước công dân gồm 12 chữ số (citizen ID is 12 digits)"]
        if idn == "000000000000":  # a number the fake refuses, to show a 422 on check-your-answers
            errors.setdefault("applicant", {})["id_number"] = ["Số căn cước công dân không hợp lệ (invalid citizen ID)"]
        if p:
            given = {doc["code"] for doc in body.get("documents") or []}
            missing = [doc["code"] for doc in p["documents"] if doc["required"] and doc["code"] not in given]
            if missing:
                errors["documents"] = [f"Thiếu giấy tờ bắt buộc: {', '.join(missing)} (missing required documents)"]
        if errors:
            return _error(422, "Invalid", {"json": errors})  # webargs nests messages under the location
        d = world.add(procedure_code=p["code"], id_number=idn, full_name=applicant.get("full_name"),
                      delivery=body["delivery"]["method"])
        d["applicant"] = applicant
        d["documents"] = body.get("documents")
        if p["fee_vnd"] and p["fee_mode"] == "before":
            # as processing does (workflow.py SYSTEM_EDGES): a fee paid before processing holds the dossier in
            # awaiting_payment from the filing on; payment.completed sends it to submitted, where a clerk receives it
            world.ask_for_payment(d)
        world.filings += 1
        answer = {"code": d["code"], "status": "submitted", "status_code": 1, "access_token": d["token"],
                  "submitted_at": _iso(d["submitted_at"]),
                  "fees": {"procedure_vnd": p["fee_vnd"], "postal_vnd": 10000 if body["delivery"]["method"] == "post" else 0},
                  "links": {"self": f"/v1/dossiers/{d['code']}"}}
        with world.lock:
            world.idempotency[key] = (body, answer)
        return answer, 201

    def _authorised(code):
        d = world.dossiers.get(code)
        header = request.headers.get("Authorization", "")
        if d is None or header != f"Bearer {d['token']}":
            return None
        return d

    @app.get("/v1/dossiers/<code>")
    def view(code):
        d = _authorised(code)
        return world.citizen_view(d) if d else _error(404, "Không tìm thấy hồ sơ (not found)")

    @app.post("/v1/dossiers/lookup")
    def lookup():
        body = request.get_json(silent=True) or {}
        d = world.dossiers.get(body.get("code"))
        if d is None or d["applicant"]["id_number"] != body.get("id_number"):
            world.misses += 1
            if world.misses > 5:
                return _error(429, "Too many misses")
            return _error(404, "Không tìm thấy hồ sơ (not found)")
        d["token"] = secrets.token_urlsafe(16)
        return world.citizen_view(d) | {"access_token": d["token"]}

    @app.post("/v1/dossiers/<code>/supplements")
    def supplements(code):
        d = _authorised(code)
        if not d:
            return _error(404, "not found")
        if d["status"] != "supplement_requested":
            return _error(409, "no open supplement request")
        back = d["supplement_request"]["from_status"]
        d["supplement_request"] = None
        world.move(d, back, "Người nộp đã bổ sung giấy tờ", actor="citizen", action="supplement")
        return world.citizen_view(d)

    @app.post("/v1/dossiers/<code>/withdrawal")
    def withdrawal(code):
        d = _authorised(code)
        if not d:
            return _error(404, "not found")
        if d["status"] not in ("submitted", "received", "in_review", "supplement_requested", "awaiting_payment"):
            return _error(409, "not withdrawable")
        reason = (request.get_json() or {}).get("reason")
        d["withdrawal"] = {"status": "accepted", "reason": reason, "requested_at": _iso(_now()), "answer": None}
        world.move(d, "withdrawn", reason, actor="citizen", action="withdraw")
        return world.citizen_view(d)

    @app.post("/v1/dossiers/<code>/rating")
    def rating(code):
        d = _authorised(code)
        if not d:
            return _error(404, "not found")
        if d["status"] != "returned" or d["rating"]:
            return _error(409, "rating only once the result is returned")
        d["rating"] = request.get_json() | {"rated_at": _iso(_now())}
        return d["rating"], 201

    @app.get("/v1/dossiers/<code>/payment-qr.png")
    def payment_qr(code):
        d = _authorised(code)
        if not d or not d["payment"]:
            return _error(404, "not found")
        out = io.BytesIO()
        segno.make(d["payment"]["qr_payload"], error="m").save(out, kind="png", scale=5)
        return out.getvalue(), 200, {"Content-Type": "image/png"}

    @app.get("/v1/dossiers/<code>/receipt.pdf")
    def receipt(code):
        d = _authorised(code)
        if not d or not d["received_at"]:
            return _error(404, "not found")
        return PDF, 200, {"Content-Type": "application/pdf"}

    @app.get("/v1/dossiers/<code>/result.pdf")
    def result_pdf(code):
        d = _authorised(code)
        if d is None:
            return _error(401, "missing or wrong access token")
        if not d["result_file_id"]:
            return _error(409, "no result yet")  # intake: the dossier is yours, its result not issued yet
        return Response(world.files[d["result_file_id"]], mimetype="application/pdf")

    @app.post("/_test/pay/<code>")
    def pay(code):
        d = world.dossiers[code]
        d["payment"]["status"] = "paid"
        d["fee_paid"] = True
        if d["status"] == "awaiting_payment":
            world.move(d, "submitted", "Đã nhận thanh toán")
        return {"ok": True}

    return app


# ---- processing ---------------------------------------------------------------------------------------------
ACTIONS = {  # name: (roles, sources, target or None)
    "receive": (("clerk",), ("submitted",), "received"),
    "refuse": (("clerk",), ("submitted",), "refused"),
    "request-supplement": (("clerk", "specialist"), ("submitted", "received", "in_review"), "supplement_requested"),
    "assign": (("leader", "specialist"), ("received",), "in_review"),
    "submit-for-approval": (("specialist",), ("in_review",), None),
    "approve": (("leader",), ("in_review",), None),
    "reject": (("leader",), ("in_review",), "stopped"),
    "stop": (("specialist",), ("in_review",), "stopped"),
    "issue-result": (("specialist",), ("in_review",), "result_ready"),
    "return-result": (("clerk",), ("result_ready",), "returned"),
    "apologize": (("leader",), ("received", "in_review"), None),
}


def _guard(d, name) -> str | None:
    if name == "submit-for-approval" and d["approval"]:
        return "Hồ sơ đang chờ lãnh đạo ký duyệt."
    if name in ("approve", "reject") and d["approval"] != "requested":
        return "Chuyên viên chưa trình ký hồ sơ này."
    if name == "issue-result" and d["approval"] != "approved":
        return "Chỉ trả kết quả sau khi lãnh đạo đã ký duyệt."
    if name == "return-result" and d["delivery"]["method"] != "counter":
        return "Hồ sơ trả kết quả qua bưu chính."
    if name == "return-result" and d["procedure"]["fee_vnd"] and not d["fee_paid"]:
        return "Hồ sơ chưa được thanh toán phí, lệ phí."
    return None


def allowed(d, officer) -> list[str]:
    return [name for name, (roles, sources, _t) in ACTIONS.items()
            if officer["role"] in roles and d["status"] in sources and _guard(d, name) is None]


def processing_app(world: World) -> Flask:
    app = Flask("fake_processing")
    app.json.ensure_ascii = False

    def officer():
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        try:
            return jwt.decode(header[7:], DEV_JWT_SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            pass
        if world.rs256_public_key is None:  # production: the province's IdP signs the officers' access tokens
            return None
        try:
            return jwt.decode(header[7:], world.rs256_public_key, algorithms=["RS256"],
                              options={"verify_aud": False})
        except jwt.InvalidTokenError:
            return None

    def case(d, who, detail=False) -> dict:
        p = d["procedure"]
        out = {"code": d["code"], "procedure_code": p["code"], "procedure_name": p["name"],
               "procedure_level": p["level"], "agency_code": p["agency"]["code"],
               "applicant_name": d["applicant"]["full_name"], "applicant_type": d["applicant"]["type"],
               "channel": "online", "delivery_method": d["delivery"]["method"], "processing_days": p["processing_days"],
               "fee_vnd": p["fee_vnd"], "fee_mode": p["fee_mode"], "fee_paid": d["fee_paid"], "status": d["status"],
               "status_code": STATUS_CODES[d["status"]], "overdue": world.citizen_view(d)["overdue"],
               "assignee": d["assignee"], "approval": d["approval"], "submitted_at": _iso(d["submitted_at"]),
               "received_at": _iso(d["received_at"]), "due_at": _iso(d["due_at"]), "version": d["version"],
               "supplement_request": d["supplement_request"], "status_label": STATUS_LABELS[d["status"]],
               "finished_at": _iso(d["completed_at"]), "returned_at": d.get("returned_at"),
               "supplement_count": 1 if d["supplement_request"] else 0, "delivery_failed": d.get("delivery_failed", False),
               "apologized_at": d.get("apologized_at")}
        if detail:
            out |= {"applicant_phone": d["applicant"].get("phone"), "applicant_email": d["applicant"].get("email"),
                    "applicant_address": d["applicant"].get("address"),
                    "procedure_documents": [{"code": x["code"], "name": x["name"]} for x in p["documents"]],
                    "documents": d["documents"], "audit": d["audit"], "allowed_actions": allowed(d, who),
                    "delivery_address": d["delivery"]["address"],
                    "result_file_id": d["result_file_id"], "result_sha256": ("0" * 64 if d["result_file_id"] else None),
                    "paper_original": d["paper_original"], "approval_summary": d["approval_summary"],
                    "national_sync": d["national_sync"]}
        return out

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": "processing"}

    @app.get("/v1/dossiers")
    def queue():
        who = officer()
        if not who:
            return _error(401, "missing bearer token")
        unknown = set(request.args) - {"status", "overdue", "assignee", "procedure", "received_from", "received_to",
                                       "page", "per_page"}
        if unknown:
            return _error(422, "Invalid", {"query": {k: ["Unknown field."] for k in unknown}})
        items = [d for d in world.dossiers.values() if d["procedure"]["agency"]["code"] == who["agency"]]
        if request.args.get("status"):
            items = [d for d in items if d["status"] == request.args["status"]]
        if request.args.get("overdue") == "true":
            items = [d for d in items if world.citizen_view(d)["overdue"]]
        if request.args.get("assignee"):
            items = [d for d in items if d["assignee"] == request.args["assignee"]]
        far = datetime(2100, 1, 1, tzinfo=timezone.utc)
        items.sort(key=lambda d: (not world.citizen_view(d)["overdue"], d["due_at"] or far))
        page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 20))
        return {"items": [case(d, who) for d in items[(page - 1) * per_page: page * per_page]], "page": page,
                "per_page": per_page, "total": len(items)}

    @app.get("/v1/dossiers/<code>")
    def one(code):
        who = officer()
        if not who:
            return _error(401, "missing bearer token")
        d = world.dossiers.get(code)
        if not d or d["procedure"]["agency"]["code"] != who["agency"]:
            return _error(404, "not found")
        return case(d, who, detail=True)

    @app.post("/v1/files")
    def files():
        if not officer():
            return _error(401, "missing bearer token")
        data = (request.files.get("file") or io.BytesIO()).read()
        if not data.startswith(b"%PDF"):
            return _error(422, "PDF only", {"file": ["PDF only"]})
        file_id = uuid.uuid4().hex
        world.files[file_id] = data
        return {"id": file_id, "sha256": "0" * 64, "size": len(data), "content_type": "application/pdf"}, 201

    @app.get("/v1/files/<file_id>")
    def file(file_id):
        if not officer():
            return _error(401, "missing bearer token")
        if file_id not in world.files:
            return _error(404, "not found")
        return Response(world.files[file_id], mimetype="application/pdf")

    @app.post("/v1/dossiers/<code>/<name>")
    def act(code, name):
        who = officer()
        if not who:
            return _error(401, "missing bearer token")
        d = world.dossiers.get(code)
        if not d or name not in ACTIONS or d["procedure"]["agency"]["code"] != who["agency"]:
            return _error(404, "not found")
        roles, sources, target = ACTIONS[name]
        if world.conflict_next:
            message, world.conflict_next = world.conflict_next, None
            return _error(409, message)
        if who["role"] not in roles:
            return _error(403, f"role {who['role']} may not do this")
        if d["status"] not in sources or _guard(d, name):
            return _error(409, _guard(d, name) or "Tình trạng hồ sơ không cho phép thao tác này.")
        body = request.get_json(silent=True) or {}
        note = body.get("reason") or body.get("summary")
        if name == "receive":
            d["received_at"] = _now()
            d["due_at"] = _now() + timedelta(days=d["procedure"]["processing_days"] + 2)
        if name == "request-supplement":
            d["supplement_request"] = {"reason": body["reason"], "documents": body["documents"],
                                       "deadline": body["deadline"], "request_no": 1, "from_status": d["status"]}
        if name == "assign":
            d["assignee"] = body["assignee"]
        if name == "submit-for-approval":
            d["approval"] = "requested"
            d["approval_summary"] = body.get("summary")
        if name == "approve":
            d["approval"] = "approved"
        if name == "issue-result":
            if body.get("result_file_id") not in world.files:
                return _error(422, "Invalid", {"json": {"result_file_id": ["unknown file"]}})
            d["result_file_id"] = body["result_file_id"]
            d["paper_original"] = bool(body.get("paper_original"))
            d["completed_at"] = _now()
        if target:
            world.move(d, target, note, actor=who["sub"], action=name)
        else:
            world.audit(d, name, who["sub"], d["status"], d["status"], note)
        d["version"] += 1
        return case(d, who, detail=True)

    @app.get("/v1/stats/766")
    def stats():
        if not officer():
            return _error(401, "missing bearer token")
        if not request.args.get("from") or not request.args.get("to"):
            return _error(422, "Invalid", {"query": {"from": ["Missing data for required field."]}})
        return {"agency": AGENCY["code"], "from": request.args["from"], "to": request.args["to"], "indicators": [
            {"id": "2.1", "name": "Hồ sơ giải quyết đúng hạn hoặc trước hạn", "numerator": 45, "denominator": 48,
             "rate": 0.9375, "full_marks_at": 1.0, "score": 93.75, "max_points": 20, "points": 18.75},
            {"id": "2.2", "name": "Thời gian giải quyết trung bình (ngày làm việc)", "numerator": 96.5,
             "denominator": 40, "rate": 2.41},
            {"id": "3.3", "name": "Tỷ lệ hồ sơ nộp trực tuyến", "numerator": 30, "denominator": 48, "rate": 0.625,
             "full_marks_at": 0.5, "score": 100.0},
            {"id": "3.6", "name": "Tỷ lệ hồ sơ thanh toán trực tuyến", "numerator": 5, "denominator": 12,
             "rate": 0.4167},
            {"id": "4.1", "name": "Tỷ lệ hồ sơ có kết quả điện tử", "numerator": 0, "denominator": 0, "rate": None},
            {"id": "4.2", "name": "Tỷ lệ hồ sơ được số hóa", "numerator": 36, "denominator": 48, "rate": 0.75,
             "full_marks_at": 0.8, "score": 93.75},
            {"id": "5.4", "name": "Mức độ hài lòng", "numerator": 44, "denominator": 48, "rate": 0.9167,
             "full_marks_at": 0.9, "score": 100.0}],
            "targets": [{"target": "online", "required": 0.6, "actual": 0.625, "met": True},
                        {"target": "on_time", "required": 1.0, "actual": 0.9375, "met": False}]}

    return app


class Running:
    """A WSGI app served on 127.0.0.1 in a daemon thread (port chosen by the OS)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
