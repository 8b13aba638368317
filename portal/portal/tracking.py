"""Tracking a dossier by its code and the applicant's ID number, and the dossier's own page.

The lookup's access token stays in the server-side session (never in a URL); the page `/ho-so/<code>` asks
for the ID number when the session holds no token for that code (EVENTS.md "Public links").
"""
from __future__ import annotations

import re

import segno
from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for
from markupsafe import Markup

from . import vietqr
from .api import ApiError
from .filing import MAX_FILE, UPLOAD_ERRORS
from .web import apis, settings, summary

bp = Blueprint("tracking", __name__)
CODE = re.compile(r"^[0-9A-Za-z.\-]{5,40}$")
WITHDRAWABLE = ("submitted", "received", "in_review", "supplement_requested", "awaiting_payment")


def _token(code: str) -> str | None:
    return (session.get("tokens") or {}).get(code)


def _store_token(code: str, token: str | None) -> None:
    tokens = dict(session.get("tokens") or {})
    if token:
        tokens[code] = token
    else:
        tokens.pop(code, None)
    session["tokens"] = tokens


def _lookup_form(code: str = "", id_number: str = "", errors: dict | None = None, status: int = 200):
    errors = errors or {}
    return render_template("tracking/lookup.html", code=code, id_number=id_number, errors=errors,
                           error_list=summary(errors, ["code", "id_number"])), status


@bp.route("/tra-cuu", methods=["GET", "POST"])
def lookup():
    if request.method == "GET":
        return _lookup_form(code=(request.args.get("ma") or "").strip()[:40])
    code = re.sub(r"\s", "", request.form.get("code") or "")
    id_number = re.sub(r"[\s.\-]", "", request.form.get("id_number") or "")
    errors = {}
    if not code:
        errors["code"] = "Nhập mã hồ sơ"
    elif not CODE.match(code):
        errors["code"] = "Mã hồ sơ chỉ gồm chữ, số, dấu chấm và gạch ngang, ví dụ 000.00.06.H56-261124-0001"
    if not id_number:
        errors["id_number"] = "Nhập số căn cước công dân hoặc mã số thuế đã khai khi nộp hồ sơ"
    elif not re.fullmatch(r"\d{10}|\d{12}|\d{13}", id_number):
        errors["id_number"] = "Số giấy tờ phải gồm 12 chữ số (căn cước công dân) hoặc 10, 13 chữ số (mã số thuế)"
    if errors:
        return _lookup_form(code, id_number, errors)
    if len(id_number) == 13:
        id_number = f"{id_number[:10]}-{id_number[10:]}"
    try:
        view = apis().intake.post("/v1/dossiers/lookup", json={"code": code, "id_number": id_number})
    except ApiError as exc:
        if exc.status == 429:
            return _lookup_form(code, id_number, {"code": "Bạn đã tra cứu sai nhiều lần; hãy đợi vài phút rồi thử "
                                                          "lại, hoặc gọi đường dây nóng 1900 0000"}, 429)
        if exc.status in (404, 422):
            return _lookup_form(code, id_number, {"code": "Không tìm thấy hồ sơ có mã và số giấy tờ này; kiểm tra lại"
                                                          " mã trên phiếu hẹn hoặc tin nhắn và số giấy tờ đã khai"})
        raise
    _store_token(view.get("code") or code, view.get("access_token"))
    session.regenerate()
    return redirect(url_for("tracking.dossier", code=view.get("code") or code))


def _view(code: str):
    """The citizen's view of the dossier, or None when the session holds no (valid) token for it."""
    token = _token(code)
    if not token:
        return None
    try:
        return apis().intake.get(f"/v1/dossiers/{code}", token=token)
    except ApiError as exc:
        if exc.status in (401, 403, 404):
            _store_token(code, None)
            return None
        raise


def _requested_documents(view: dict) -> list[dict]:
    """The open request's documents as {code, name}; a bare code gets its name from the catalogue."""
    request_ = view.get("supplement_request") or {}
    documents = request_.get("documents") or []
    names = {}
    if any(isinstance(d, str) or not d.get("name") for d in documents) and (view.get("procedure") or {}).get("code"):
        try:
            procedure = apis().intake.get(f"/v1/procedures/{view['procedure']['code']}")
            names = {d["code"]: d["name"] for d in procedure.get("documents") or []}
        except ApiError:
            pass
    out = []
    for doc in documents:
        doc_code = doc if isinstance(doc, str) else doc.get("code")
        name = None if isinstance(doc, str) else doc.get("name")
        out.append({"code": doc_code, "name": name or names.get(doc_code, doc_code)})
    return out


def _page(code: str, view: dict, template: str = "tracking/dossier.html", errors: dict | None = None,
          order=None, **extra):
    errors = errors or {}
    payment = view.get("payment") or None
    link = f"{settings().public_url}/ho-so/{code}"
    qr_svg = Markup(segno.make(link, error="m").svg_inline(scale=4, title=f"Mã QR trang hồ sơ {code}"))
    return render_template(template, v=view, code=code, requested=_requested_documents(view), bank=vietqr.parse(payment.get("qr_payload")) if payment
                           else None, errors=errors, error_list=summary(errors, order), qr_svg=qr_svg,
                           withdrawable=view.get("status") in WITHDRAWABLE and not _pending_withdrawal(view),
                           **extra)


def _pending_withdrawal(view: dict) -> bool:
    return (view.get("withdrawal") or {}).get("status") == "requested"


@bp.get("/ho-so/<code>")
def dossier(code):
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    return _page(code, view)


@bp.get("/ho-so/<code>/xac-nhan")
def confirmation(code):
    filed = session.get("filed") or {}
    if filed.get("code") != code:
        return redirect(url_for("tracking.dossier", code=code))
    return render_template("tracking/confirmation.html", f=filed, code=code)


@bp.get("/ho-so/<code>/thanh-toan")
def payment(code):
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    return _page(code, view, "tracking/payment.html")


@bp.post("/ho-so/<code>/thanh-toan")
def check_payment(code):
    """"Kiểm tra thanh toán": read the view again (payment confirms by the bank's callback, not by this click)."""
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    if request.headers.get("HX-Request"):
        return _page(code, view, "tracking/_payment.html")
    return redirect(url_for("tracking.payment", code=code, da_kiem_tra=1))


def _proxy(code: str, path: str, mimetype: str, filename: str | None = None):
    token = _token(code)
    if not token:
        abort(404)
    try:
        answer = apis().intake.get(f"/v1/dossiers/{code}/{path}", token=token, raw=True)
    except ApiError:
        abort(404)
    headers = {"Cache-Control": "private, no-store"}
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return Response(answer.content, mimetype=mimetype, headers=headers)


@bp.get("/ho-so/<code>/ma-thanh-toan.png")
def payment_qr(code):
    return _proxy(code, "payment-qr.png", "image/png")


@bp.get("/ho-so/<code>/phieu-hen.pdf")
def receipt(code):
    return _proxy(code, "receipt.pdf", "application/pdf", f"phieu-hen-{code}.pdf")


@bp.get("/ho-so/<code>/ket-qua.pdf")
def result(code):
    """The electronic result, once the dossier's view says there is one (intake: GET .../result.pdf)."""
    return _proxy(code, "result.pdf", "application/pdf", f"ket-qua-{code}.pdf")


@bp.post("/ho-so/<code>/bo-sung")
def supplement(code):
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    request_ = view.get("supplement_request")
    if not request_:
        return redirect(url_for("tracking.dossier", code=code))
    errors, documents = {}, []
    note = (request.form.get("note") or "").strip()
    for doc in _requested_documents(view):
        doc_code = doc["code"]
        field = f"bs-{doc_code}"
        file = request.files.get(field)
        if file is None or not file.filename:
            errors[field] = UPLOAD_ERRORS["select"].format(name=doc["name"])
            continue
        data = file.read(MAX_FILE + 1)
        if not data:
            errors[field] = UPLOAD_ERRORS["empty"]
        elif len(data) > MAX_FILE:
            errors[field] = UPLOAD_ERRORS["size"]
        else:
            try:
                up = apis().intake.post("/v1/uploads", files={"file": (file.filename, data, file.mimetype)})
                documents.append({"code": doc_code, "upload_id": up["id"]})
            except ApiError as exc:
                errors[field] = UPLOAD_ERRORS["size" if exc.status == 413 else "type" if exc.status in (415, 422)
                                             else "failed"]
    if len(note) > 1000:
        errors["note"] = "Ghi chú phải có không quá 1000 ký tự"
    if errors:
        return _page(code, view, errors=errors, note=note)
    try:
        apis().intake.post(f"/v1/dossiers/{code}/supplements", token=_token(code),
                           json={"documents": documents, "note": note})
    except ApiError as exc:
        return _page(code, view, errors={"bs-form": _refusal(exc, "Không gửi được giấy tờ bổ sung")})
    session["flash"] = "Đã gửi giấy tờ bổ sung. Hồ sơ tiếp tục được xử lý."
    return redirect(url_for("tracking.dossier", code=code))


@bp.post("/ho-so/<code>/rut")
def withdraw(code):
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        return _page(code, view, errors={"reason": "Nhập lý do rút hồ sơ"})
    if len(reason) > 500:
        return _page(code, view, errors={"reason": "Lý do phải có không quá 500 ký tự"}, reason=reason)
    try:
        apis().intake.post(f"/v1/dossiers/{code}/withdrawal", token=_token(code), json={"reason": reason})
    except ApiError as exc:
        return _page(code, view, errors={"reason": _refusal(exc, "Không rút được hồ sơ")}, reason=reason)
    session["flash"] = "Đã gửi yêu cầu rút hồ sơ."
    return redirect(url_for("tracking.dossier", code=code))


@bp.post("/ho-so/<code>/danh-gia")
def rate(code):
    view = _view(code)
    if view is None:
        return _lookup_form(code=code)
    score = request.form.get("score") or ""
    comment = (request.form.get("comment") or "").strip()
    errors = {}
    if score not in ("1", "2", "3", "4", "5"):
        errors["score"] = "Chọn mức độ hài lòng của bạn"
    if len(comment) > 1000:
        errors["comment"] = "Góp ý phải có không quá 1000 ký tự"
    if errors:
        return _page(code, view, errors=errors, order=["score", "comment"], comment=comment)
    try:
        apis().intake.post(f"/v1/dossiers/{code}/rating", token=_token(code),
                           json={"score": int(score), "comment": comment})
    except ApiError as exc:
        return _page(code, view, errors={"score": _refusal(exc, "Không gửi được đánh giá")}, comment=comment)
    session["flash"] = "Cảm ơn bạn đã đánh giá."
    return redirect(url_for("tracking.dossier", code=code))


def _refusal(exc: ApiError, prefix: str) -> str:
    if exc.status == 409:
        return f"{prefix}: tình trạng hồ sơ đã thay đổi, hãy tải lại trang"
    return f"{prefix}: thông tin chưa hợp lệ, hãy kiểm tra lại"
