"""Citizen API: flask-smorest blueprints, one transaction per request."""
from __future__ import annotations

import hashlib
import logging
import os
import time
import unicodedata

import requests
from flask import Response, current_app, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from servicekit import logs
from servicekit.auth import bearer_token, decode_officer_token
from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.files import DOCUMENT_TYPES, FileStore, sniff
from servicekit.signing import sign_link
from servicekit.idempotency import body_hash, find_replay, require_key, store_response
from servicekit.text import fold_ascii
from servicekit.web import DomainError, Invalid, NotFound, current_db, current_settings

from . import examples, queries, slip, use_cases
from .metrics import DOSSIERS_SUBMITTED
from .models import idempotency_keys
from .schemas import (DossierViewSchema, FiledSchema, FilingSchema, LookupAnswerSchema, LookupSchema,
                      PostalQuoteQuerySchema, PostalQuoteSchema, ProcedurePageSchema, ProcedureQuerySchema,
                      ProcedureSchema, RatingSchema, RatingViewSchema, RevokedSchema, RevokeSchema, SupplementedSchema,
                      SupplementSchema, UploadedSchema, UploadFormSchema, WithdrawalSchema, WithdrawalViewSchema)

log = logging.getLogger(__name__)

procedures_blp = Blueprint("procedures", __name__, url_prefix="/v1/procedures",
                           description="Danh mục thủ tục hành chính (procedure catalogue)")
dossiers_blp = Blueprint("dossiers", __name__, url_prefix="/v1/dossiers",
                         description="Nộp và tra cứu hồ sơ (filing and tracking a dossier)")
uploads_blp = Blueprint("uploads", __name__, url_prefix="/v1/uploads",
                        description="Tải lên giấy tờ (documents uploaded before filing or for a supplement)")
postal_blp = Blueprint("postal", __name__, url_prefix="/v1/postal",
                       description="Báo giá bưu chính công ích (read through from the postal service)")
UPLOAD_ENDPOINT = "uploads.upload_file"
RESULT_DOWN = "Chưa tải được kết quả, vui lòng thử lại sau ít phút (the result store is unavailable)"
RESULT_BAD = "Tệp kết quả không khớp với bản đã ban hành, vui lòng liên hệ cơ quan giải quyết (result check failed)"
# A link intake signs for one fetch: long enough for a slow request, too short to be worth stealing.
RESULT_LINK_SECONDS = 60
POSTAL_DOWN = "Dịch vụ bưu chính tạm thời không phản hồi, vui lòng thử lại sau (postal is unavailable)"

IDEMPOTENCY_SCOPE = "dossiers"
DOSSIER_NOT_FOUND = "Không tìm thấy hồ sơ (dossier not found)"
_KEY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string", "maxLength": 255},
               "description": "Chosen by the client per filing; a retry with the same key and body replays the answer"}
_BEARER = [{"citizenToken": []}]


def _procedure(row) -> dict:
    return {
        "code": row.code, "name": row.name, "agency": {"code": row.agency_code, "name": row.agency_name},
        "level": row.level, "processing_days": row.processing_days, "fee_vnd": row.fee_vnd, "fee_mode": row.fee_mode,
        "documents": row.documents, "delivery_methods": row.delivery_methods, "result_is_paper": bool(row.result_is_paper),
        "field": {"code": row.field_code, "name": row.field_name} if row.field_code else None,
    }


def _png(content: bytes) -> Response:
    response = Response(content, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


_PNG_200 = {"200": {"description": "PNG image", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}
_PDF_200 = {"200": {"description": "PDF document", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}


@procedures_blp.get("")
@procedures_blp.arguments(ProcedureQuerySchema(), location="query")
@procedures_blp.response(200, ProcedurePageSchema, example=examples.PROCEDURE_PAGE)
def list_procedures(args):
    """Procedures, filtered by text (name or code, with or without diacritics), agency and service level."""
    folded = fold_ascii(args["q"]).lower().strip() if args.get("q") else None
    with current_db().transaction(readonly=True) as conn:
        rows, total = queries.list_procedures(conn, folded_q=folded, agency=args.get("agency"), level=args.get("level"),
                                              page=args["page"], per_page=args["per_page"])
    return {"items": [_procedure(row) for row in rows], "page": args["page"], "per_page": args["per_page"], "total": total}


@procedures_blp.get("/<code>")
@procedures_blp.response(200, ProcedureSchema, example=examples.PROCEDURE)
@procedures_blp.alt_response(404, description="Unknown procedure code", example=examples.error(404))
def get_procedure(code):
    """One procedure: agency, service level, deadline, fee, documents and delivery methods."""
    with current_db().transaction(readonly=True) as conn:
        row = queries.get_procedure(conn, code)
    if row is None or row.withdrawn_at is not None:  # withdrawn: hidden from citizens like in the list
        raise NotFound("Không tìm thấy thủ tục (procedure not found)")
    return _procedure(row)


@procedures_blp.get("/<code>/qr.png")
@procedures_blp.doc(responses=_PNG_200, description="A QR code of the procedure's public page, "
                    "{MOTCUA_PORTAL_URL}/thu-tuc/{code} (e.g. http://127.0.0.1:8000/thu-tuc/1.001193.H56).")
@procedures_blp.alt_response(404, description="Unknown procedure code", example=examples.error(404))
def procedure_qr(code):
    """QR code (PNG) of the procedure's public page on the citizen portal."""
    with current_db().transaction(readonly=True) as conn:
        row = queries.get_procedure(conn, code)
    if row is None:
        raise NotFound("Không tìm thấy thủ tục (procedure not found)")
    return _png(slip.qr_png(slip.procedure_url(current_settings().portal_url, row.code)))


# ---- uploads ----------------------------------------------------------------------------------------
def _clean_filename(raw: str | None) -> str:
    """The name the citizen gave, for display only: no path, no hidden characters, at most 200 characters."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")).strip()
    return name[:200] or "tep-dinh-kem"


class PostalDown(use_cases.RateLimited):
    status = 503


class TooLarge(DomainError):
    status = 413


class ResultDown(use_cases.RateLimited):
    status = 503


class BadGateway(DomainError):
    status = 502


class UnsupportedFile(DomainError):
    status = 415


def file_store() -> FileStore:
    return current_app.extensions["intake.files"]


@uploads_blp.post("")
@uploads_blp.arguments(UploadFormSchema, location="files")
@uploads_blp.response(201, UploadedSchema, example=examples.UPLOADED)
@uploads_blp.alt_response(413, description="Larger than 10 MiB (INTAKE_UPLOAD_MAX_BYTES)", example=examples.error(413))
@uploads_blp.alt_response(415, description="Not multipart/form-data, or the content is not a PDF, JPEG or PNG",
                          example=examples.error(415))
@uploads_blp.alt_response(422, description="No `file` part, or an empty file", example=examples.error(422))
@uploads_blp.alt_response(429, description="Too many uploads from this client; see Retry-After",
                          example=examples.error(429))
def upload_file(_files):
    """Upload one document (multipart field `file`): PDF, JPEG or PNG recognised by content, at most 10 MiB."""
    settings = current_settings()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedFile("Gửi tệp dạng multipart/form-data, trường `file` (send multipart/form-data)")
    part = request.files.get("file")
    if part is None:
        raise Invalid("Thiếu tệp (missing file)", errors={"files": {"file": ["Trường `file` là bắt buộc (required)"]}})
    content = part.stream.read(settings.upload_max_bytes + 1)
    if len(content) > settings.upload_max_bytes:
        raise TooLarge(f"Tệp lớn hơn {settings.upload_max_bytes // (1024 * 1024)} MiB (file too large)")
    if not content:
        raise Invalid("Tệp rỗng (empty file)", errors={"files": {"file": ["Tệp rỗng (empty file)"]}})
    mime = sniff(content)
    if mime not in DOCUMENT_TYPES:
        raise UnsupportedFile("Chỉ nhận tệp PDF, JPEG hoặc PNG, nhận biết theo nội dung tệp "
                              f"(content is {mime or 'not recognised'}; PDF, JPEG or PNG only)")
    filename = _clean_filename(part.filename)
    store = file_store()
    client_limits = [(f"upload:client:{request.remote_addr or 'unknown'}"[:120], settings.upload_max_per_client)]
    stored = None
    try:
        with current_db().transaction() as conn:
            # Counted first (before the file is written), so a refused upload leaves no bytes behind.
            use_cases.check_rate_limits(conn, settings, client_limits, "tải tệp")
            stored = store.save(content, mime)
            answer = use_cases.store_upload(conn, stored, filename)
    except BaseException:
        if stored is not None:  # the row did not commit: neither do the bytes
            store.delete(stored.id)
        raise
    return answer, 201


# ---- filing -----------------------------------------------------------------------------------------
def _answer(filed: use_cases.Filed) -> dict:
    return {
        "code": filed.code, "status": "submitted", "status_code": use_cases.STATUS_CODES["submitted"],
        "access_token": filed.access_token, "submitted_at": rfc3339(filed.submitted_at),
        "fees": {"procedure_vnd": filed.procedure_vnd, "postal_vnd": filed.postal_vnd},
        "links": {"self": f"/v1/dossiers/{filed.code}"},
    }


def _after_filing(filed: use_cases.Filed) -> None:
    DOSSIERS_SUBMITTED.labels(filed.procedure_code, filed.channel).inc()
    logs.dossier_code.set(filed.code)  # the kit's request teardown resets it
    log.info("dossier filed", extra={
        "event": "dossier.filed", "procedure": filed.procedure_code, "channel": filed.channel,
        "phone": logs.mask_digits(filed.phone), "id_number": logs.mask_digits(filed.id_number),
    })


def _replay(key: str, request_hash: str):
    with current_db().transaction(readonly=True) as conn:
        return find_replay(conn, idempotency_keys, IDEMPOTENCY_SCOPE, key, request_hash)


@dossiers_blp.post("")
@dossiers_blp.doc(parameters=[_KEY_HEADER], security=[{}, {"officerJWT": []}])
@dossiers_blp.arguments(FilingSchema(), example=examples.FILING)  # an instance: webargs would build one per request
@dossiers_blp.response(201, FiledSchema, example=examples.FILED)
@dossiers_blp.alt_response(400, description="Missing Idempotency-Key, or malformed JSON", example=examples.error(400))
@dossiers_blp.alt_response(401, description="channel=counter without a valid officer JWT", example=examples.error(401))
@dossiers_blp.alt_response(403, description="channel=counter by someone other than a clerk of the procedure's agency",
                           example=examples.error(403))
@dossiers_blp.alt_response(409, description="Idempotency-Key already used with another body", example=examples.error(409))
@dossiers_blp.alt_response(415, description="Body is not application/json", example=examples.error(415))
@dossiers_blp.alt_response(422, description="Invalid fields, each named (unknown procedure, missing document, bad "
                           "upload_id, malformed ID or phone, hidden characters...)", example=examples.FILING_422)
@dossiers_blp.alt_response(429, description="Too many filings from this client or for this phone; see Retry-After",
                           example=examples.error(429))
def file_dossier(args):
    """File a dossier: stored with its token, first timeline entry and dossier.submitted.v1, in one transaction.

    Every `documents[].upload_id` must come from POST /v1/uploads, unattached. `channel: counter` needs the
    JWT of a clerk of the procedure's agency (`Authorization: Bearer`), recorded as `filed_by`.
    """
    key = require_key()
    request_hash = body_hash(request.get_json())
    settings = current_settings()
    catalogue = current_app.extensions["intake.catalogue"]
    officer = decode_officer_token(bearer_token(), settings.kit) if args["channel"] == "counter" else None
    # Optimistic: file first and store the answer under the key; the key's primary key tells us, at
    # the end of the same transaction, that this key was used before (rare), and only then do we read
    # the stored answer. The common path saves a SELECT. A replay also meets a refusal first (its
    # uploads are attached by now, or its client is at the limit): the stored answer wins over that.
    try:
        with current_db().transaction() as conn:
            filed = use_cases.file_dossier(conn, catalogue, settings, args, client_ip=request.remote_addr or "unknown",
                                           officer=officer)
            answer = _answer(filed)
            # The stored answer keeps the token sealed, never in clear (see use_cases.seal_token).
            stored = {**answer, "access_token": None,
                      "access_token_sealed": use_cases.seal_token(settings.token_secret, filed.code, filed.access_token)}
            store_response(conn, idempotency_keys, IDEMPOTENCY_SCOPE, key, request_hash, 201, stored)
            after_commit(conn, lambda filed=filed: _after_filing(filed))
    except (IntegrityError, DomainError):
        # Rolled back, dossier number included. The key was used before, or a concurrent request with
        # it committed first: replay that answer (409 when it was for another body).
        replay = _replay(key, request_hash)
        if replay is None:
            raise
        status, answer = replay
        sealed = answer.pop("access_token_sealed")
        answer["access_token"] = use_cases.unseal_token(settings.token_secret, answer["code"], sealed)
        return answer, status, {"Location": answer["links"]["self"]}
    return answer, 201, {"Location": answer["links"]["self"]}


def _own_dossier(conn, code: str):
    """The dossier the bearer's access token opens; 404 for a wrong token and an unknown code alike."""
    dossier = use_cases.find_dossier_by_token(conn, code, bearer_token())
    if dossier is None:
        raise NotFound(DOSSIER_NOT_FOUND)
    logs.dossier_code.set(dossier.code)
    return dossier


_NOT_YOURS = {"description": "Unknown dossier, or a token that is not this dossier's (same answer)",
              "example": examples.error(404)}


@dossiers_blp.get("/<code>")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.response(200, DossierViewSchema, example=examples.VIEW)
@dossiers_blp.alt_response(401, description="No bearer token", example=examples.error(401))
@dossiers_blp.alt_response(404, **_NOT_YOURS)
def get_dossier(code):
    """The citizen's view of their dossier, with the access token given at filing or by lookup."""
    with current_db().transaction(readonly=True) as conn:
        return use_cases.citizen_view(conn, _own_dossier(conn, code))


@dossiers_blp.post("/lookup")
@dossiers_blp.arguments(LookupSchema(), example={"code": "000.00.06.H56-261124-0001", "id_number": "001190012345"})
@dossiers_blp.response(200, LookupAnswerSchema, example={**examples.VIEW, "access_token": examples.TOKEN})
@dossiers_blp.alt_response(404, description="No dossier with this code and ID number", example=examples.error(404))
@dossiers_blp.alt_response(429, description="Too many misses from this client; see Retry-After",
                           example=examples.error(429))
def lookup_dossier(args):
    """Find a dossier by its code and the applicant's ID number; answers with a fresh access token.

    Tokens given before (at filing, or by earlier lookups) keep working until they expire or are revoked.
    """
    settings = current_settings()
    with current_db().transaction() as conn:
        found = use_cases.lookup_dossier(conn, settings, args["code"], args["id_number"], request.remote_addr or "unknown")
    if found is None:
        raise NotFound(DOSSIER_NOT_FOUND)  # after the commit, so the miss is counted
    return found


@dossiers_blp.post("/<code>/tokens/revoke")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.arguments(RevokeSchema(), example={"scope": "lookups"})
@dossiers_blp.response(200, RevokedSchema, example={"revoked": 2})
@dossiers_blp.alt_response(403, description="scope=lookups with a lookup token", example=examples.error(403))
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="scope=current with the filing token", example=examples.error(409))
def revoke_tokens(args, code):
    """Revoke access tokens: this lookup token, or (with the filing token) every lookup token."""
    token = bearer_token()
    with current_db().transaction() as conn:
        dossier = _own_dossier(conn, code)
        return {"revoked": use_cases.revoke_tokens(conn, dossier, token, args["scope"])}


@dossiers_blp.post("/<code>/supplements")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.arguments(SupplementSchema(), example=examples.SUPPLEMENT)
@dossiers_blp.response(201, SupplementedSchema, example=examples.SUPPLEMENTED)
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="No open supplement request, or it was already answered",
                           example=examples.error(409))
@dossiers_blp.alt_response(422, description="Documents not requested / unknown, or a bad upload_id",
                           example=examples.error(422))
def add_supplement(args, code):
    """Answer the open supplement request with new uploads (publishes dossier.supplemented.v1)."""
    catalogue = current_app.extensions["intake.catalogue"]
    with current_db().transaction() as conn:
        return use_cases.supplement(conn, catalogue, _own_dossier(conn, code), args), 201


@dossiers_blp.post("/<code>/withdrawal")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.arguments(WithdrawalSchema(), example={"reason": "Đã nộp nhầm thủ tục"})
@dossiers_blp.response(202, WithdrawalViewSchema, example=examples.WITHDRAWAL)
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="Not withdrawable in this state, or a request is pending",
                           example=examples.error(409))
def withdraw(args, code):
    """Ask to withdraw the dossier (publishes dossier.withdrawal_requested.v1); the answer shows in the view."""
    with current_db().transaction() as conn:
        return use_cases.request_withdrawal(conn, _own_dossier(conn, code), args["reason"]), 202


@dossiers_blp.post("/<code>/rating")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.arguments(RatingSchema(), example={"score": 5, "comment": "Cán bộ hướng dẫn tận tình"})
@dossiers_blp.response(201, RatingViewSchema, example=examples.RATING)
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="The result is not returned yet, or already rated", example=examples.error(409))
def rate(args, code):
    """Rate the handling 1-5 with an optional comment, once, after the result is returned (dossier.rated.v1)."""
    with current_db().transaction() as conn:
        return use_cases.rate(conn, _own_dossier(conn, code), args["score"], args.get("comment")), 201


@dossiers_blp.get("/<code>/payment-qr.png")
@dossiers_blp.doc(security=_BEARER, responses=_PNG_200)
@dossiers_blp.alt_response(404, description="Not yours, or no payment requested", example=examples.error(404))
@dossiers_blp.alt_response(409, description="The order is paid, expired, cancelled or refunded", example=examples.error(409))
def payment_qr(code):
    """The VietQR code (PNG) of the dossier's open payment order, from the order's payload."""
    with current_db().transaction(readonly=True) as conn:
        payment = use_cases.payable_order(conn, _own_dossier(conn, code))
    return _png(slip.qr_png(payment.qr_payload))


@dossiers_blp.get("/<code>/receipt.pdf")
@dossiers_blp.doc(security=_BEARER, responses=_PDF_200)
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="Not received yet (no appointment slip before reception)",
                           example=examples.error(409))
def receipt(code):
    """The appointment slip (form 01, PDF) with the tracking QR, once the dossier is received."""
    settings = current_settings()
    catalogue = current_app.extensions["intake.catalogue"]
    with current_db().transaction(readonly=True) as conn:
        dossier = _own_dossier(conn, code)
        if dossier.received_at is None:
            raise use_cases.Conflict("Hồ sơ chưa được tiếp nhận, chưa có phiếu hẹn (not received yet)")
        procedure = catalogue.get(conn, dossier.procedure_code)
    pdf = slip.appointment_slip_pdf(
        dossier, documents=dossier.documents, portal_url=settings.portal_url,
        agency_name=dossier.agency_name or (procedure.agency_name if procedure else dossier.agency_code),
        processing_days=dossier.processing_days if dossier.processing_days is not None else (
            procedure.processing_days if procedure else None),
        fee_mode=dossier.fee_mode or (procedure.fee_mode if procedure else None))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="phieu-hen-{dossier.code}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@dossiers_blp.get("/<code>/result.pdf")
@dossiers_blp.doc(security=_BEARER, responses=_PDF_200)
@dossiers_blp.alt_response(401, description="No bearer token", example=examples.error(401))
@dossiers_blp.alt_response(404, **_NOT_YOURS)
@dossiers_blp.alt_response(409, description="No electronic result issued yet (the view's `result` is null)",
                           example=examples.error(409))
@dossiers_blp.alt_response(502, description="The file processing returned is not the one issued (SHA-256 differs)",
                           example=examples.error(502))
@dossiers_blp.alt_response(503, description="Processing, which keeps the file, does not answer; see Retry-After",
                           example=examples.error(503))
def result_pdf(code):
    """The electronic result (PDF) of the dossier, once issued: fetched from processing, checked against its SHA-256."""
    settings = current_settings()
    with current_db().transaction(readonly=True) as conn:
        dossier = _own_dossier(conn, code)
    if dossier.result_file_id is None:
        raise use_cases.Conflict("Hồ sơ chưa có kết quả điện tử (no result issued yet)")
    content = _fetch_result(settings, dossier.result_file_id)
    if hashlib.sha256(content).hexdigest() != dossier.result_sha256:
        log.error("result file does not match the issued SHA-256", extra={
            "event": "result.sha256_mismatch", "file_id": dossier.result_file_id, "bytes": len(content)})
        raise BadGateway(RESULT_BAD)
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="ket-qua-{dossier.code}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _fetch_result(settings, file_id: str) -> bytes:
    """The bytes of an issued result from processing, by a link signed for this one fetch."""
    expires = int(time.time()) + RESULT_LINK_SECONDS
    params = {"expires": expires, "sig": sign_link(file_id, expires, settings.file_link_secret)}
    try:
        answer = requests.get(f"{settings.processing_url}/v1/files/{file_id}", params=params,
                              timeout=(min(2.0, settings.processing_timeout_seconds), settings.processing_timeout_seconds))
    except requests.RequestException as exc:
        log.warning("result file unavailable", extra={"event": "result.fetch_failed", "error": type(exc).__name__})
        raise ResultDown(RESULT_DOWN, retry_after=30) from None
    if answer.status_code == 200:
        return answer.content
    log.error("processing refused the result file", extra={
        "event": "result.fetch_failed", "status": answer.status_code, "file_id": file_id})
    if answer.status_code >= 500:
        raise ResultDown(RESULT_DOWN, retry_after=30)
    # 403 (secrets differ) or 404 (the file is gone): nothing a retry by the citizen will fix.
    raise BadGateway(RESULT_BAD)


# ---- postal quote (read through) -----------------------------------------------------------------------
@postal_blp.get("/quote")
@postal_blp.arguments(PostalQuoteQuerySchema(), location="query")
@postal_blp.response(200, PostalQuoteSchema, example=examples.POSTAL_QUOTE)
@postal_blp.alt_response(422, description="Invalid query fields (here or at postal)", example=examples.error(422))
@postal_blp.alt_response(503, description="The postal service does not answer; filing still works",
                         example=examples.error(503))
def postal_quote(args):
    """The citizen's and the operator's price of delivery by post, read through from the postal service."""
    settings = current_settings()
    try:
        answer = requests.get(f"{settings.postal_url}/v1/quotes", params=args,
                              timeout=(min(1.0, settings.postal_timeout_seconds), settings.postal_timeout_seconds))
    except requests.RequestException as exc:
        log.warning("postal quote unavailable", extra={"event": "postal.quote_failed", "error": type(exc).__name__})
        raise PostalDown(POSTAL_DOWN, retry_after=30) from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code == 200 and isinstance(body, dict):
        return jsonify(body)
    if answer.status_code in (400, 404, 422) and isinstance(body, dict):
        raise Invalid(body.get("message") or "Không báo giá được (no quote for this address)",
                      errors=body.get("errors") or {"query": ["Không có giá cho địa chỉ này (no quote)"]})
    log.warning("postal quote failed", extra={"event": "postal.quote_failed", "status": answer.status_code})
    raise PostalDown(POSTAL_DOWN, retry_after=30)
