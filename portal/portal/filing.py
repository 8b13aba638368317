"""Filing a dossier, one question per page (GOV.UK question pages), with check-your-answers and a confirmation.

The wizard's answers live in the server-side session under "wizard", with the Idempotency-Key made when the
filing starts: a double submit (two clicks, a retry after a timeout, the back button) sends the same key, so
intake answers with the same dossier instead of filing twice.
"""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from servicekit.text import normalize_phone

from .api import ApiError
from .citizen import load_procedure
from .web import apis, summary

bp = Blueprint("filing", __name__)
STEPS = ["nguoi-nop", "thong-tin", "lien-he", "giay-to", "nhan-ket-qua", "dia-chi", "thong-bao", "kiem-tra"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FILE = 10 * 1024 * 1024
ALLOWED = {"application/pdf", "image/jpeg", "image/png"}
UPLOAD_ERRORS = {
    "select": "Chọn một tệp cho “{name}”",
    "type": "Tệp đã chọn phải là PDF, JPG hoặc PNG",
    "size": "Tệp đã chọn phải nhỏ hơn 10 MB",
    "empty": "Tệp đã chọn bị trống",
    "failed": "Không tải được tệp đã chọn lên – hãy thử lại",
}


def _wizard() -> dict:
    wizard = session.get("wizard")
    if not wizard:
        abort(404)
    return wizard


def _save(wizard: dict) -> None:
    session["wizard"] = wizard
    session.modified = True


def _by_post(wizard: dict) -> bool:
    return (wizard["answers"].get("delivery") or {}).get("method") == "post"


def _next(step: str) -> str:
    wizard = _wizard()
    if step == "nhan-ket-qua" and _by_post(wizard):
        return url_for("filing.step", step="dia-chi", sua=1 if (request.args.get("sua") or request.form.get("sua"))
                       else None)
    if request.args.get("sua") or request.form.get("sua"):
        return url_for("filing.step", step="kiem-tra")
    following = STEPS[STEPS.index(step) + 1]
    if following == "dia-chi" and not _by_post(wizard):
        following = "thong-bao"
    return url_for("filing.step", step=following)


def _back(step: str) -> str:
    if request.args.get("sua") and step != "dia-chi":
        return url_for("filing.step", step="kiem-tra")
    index = STEPS.index(step)
    if index == 0:
        return url_for("citizen.procedure", code=_wizard()["procedure"]["code"])
    previous = STEPS[index - 1]
    if previous == "dia-chi" and not _by_post(_wizard()):
        previous = "nhan-ket-qua"
    return url_for("filing.step", step=previous)


@bp.get("/thu-tuc/<code>/nop-ho-so")
def begin(code):
    wizard = session.get("wizard")
    if not wizard or wizard["procedure"]["code"] != code or wizard.get("submitted"):
        p = load_procedure(code)
        wizard = {"procedure": {k: p.get(k) for k in ("code", "name", "documents", "delivery_methods", "fee_vnd",
                                                    "fee_mode", "processing_days")} | {"agency": p.get("agency")},
                  "key": str(uuid.uuid4()), "answers": {}, "uploads": {}, "quote": None, "submitted": None}
        _save(wizard)
    return redirect(url_for("filing.step", step=STEPS[0]))


def _render(step: str, wizard: dict, errors: dict | None = None, values: dict | None = None, order=None):
    errors = errors or {}
    return render_template(f"filing/{step}.html", w=wizard, p=wizard["procedure"], a=values or wizard["answers"],
                           errors=errors, error_list=summary(errors, order), back=_back(step),
                           sua=bool(request.args.get("sua") or request.form.get("sua")), step=step,
                           step_no=STEPS.index(step) + 1, step_count=len(STEPS))


@bp.route("/nop-ho-so/<step>", methods=["GET", "POST"])
def step(step):
    if step not in STEPS:
        abort(404)
    wizard = _wizard()
    if step == "dia-chi" and not _by_post(wizard):
        return redirect(url_for("filing.step", step="nhan-ket-qua"))
    if wizard.get("submitted"):
        return redirect(url_for("tracking.confirmation", code=wizard["submitted"]))
    if request.method == "GET":
        if step != STEPS[0] and not _reachable(wizard, step):
            return redirect(url_for("filing.step", step=STEPS[0]))
        if step == "kiem-tra":
            return _render(step, wizard, errors=dict(wizard.get("submit_errors") or {}))
        return _render(step, wizard)
    return HANDLERS[step](wizard)


def _reachable(wizard: dict, step: str) -> bool:
    answers = wizard["answers"]
    needs = {"thong-tin": "type", "lien-he": "full_name", "giay-to": "contact_done", "nhan-ket-qua": "documents_done",
             "dia-chi": "delivery", "thong-bao": "delivery_done", "kiem-tra": "channels"}
    return all(answers.get(needs[s]) for s in STEPS[1:STEPS.index(step) + 1])


def _form(*names) -> dict:
    return {n: (request.form.get(n) or "").strip() for n in names}


def _applicant_type(wizard):
    values = _form("type")
    if values["type"] not in ("citizen", "business", "agency", "organisation"):
        return _render("nguoi-nop", wizard, {"type": "Chọn bạn nộp hồ sơ với tư cách nào"}, values)
    wizard["answers"]["type"] = values["type"]
    _save(wizard)
    return redirect(_next("nguoi-nop"))


def _applicant_details(wizard):
    values = _form("full_name", "id_number", "address")
    errors = {}
    citizen = wizard["answers"].get("type") == "citizen"
    compact = re.sub(r"[\s.\-]", "", values["id_number"])
    if not values["full_name"]:
        errors["full_name"] = "Nhập họ và tên" if citizen else "Nhập tên tổ chức, doanh nghiệp"
    elif len(values["full_name"]) > 200:
        errors["full_name"] = "Họ và tên phải có không quá 200 ký tự"
    if not compact:
        errors["id_number"] = "Nhập số căn cước công dân" if citizen else "Nhập mã số thuế"
    elif citizen and not re.fullmatch(r"\d{12}", compact):
        errors["id_number"] = "Số căn cước công dân phải gồm đúng 12 chữ số"
    elif not citizen and not re.fullmatch(r"\d{10}(\d{3})?", compact):
        errors["id_number"] = "Mã số thuế phải gồm 10 hoặc 13 chữ số"
    if not values["address"]:
        errors["address"] = "Nhập địa chỉ thường trú hoặc trụ sở"
    elif len(values["address"]) > 500:
        errors["address"] = "Địa chỉ phải có không quá 500 ký tự"
    if errors:
        return _render("thong-tin", wizard, errors, values, ["full_name", "id_number", "address"])
    values["id_number"] = compact
    wizard["answers"].update(values)
    _save(wizard)
    return redirect(_next("thong-tin"))


def _contact(wizard):
    values = _form("phone", "email")
    errors = {}
    if not values["phone"] and not values["email"]:
        errors["phone"] = "Nhập số điện thoại di động hoặc email để nhận thông báo"
    if values["phone"] and normalize_phone(values["phone"]) is None:
        errors["phone"] = "Nhập số điện thoại di động đúng định dạng, ví dụ 0912 345 678"
    if values["email"] and (not EMAIL.match(values["email"]) or len(values["email"]) > 254):
        errors["email"] = "Nhập địa chỉ email đúng định dạng, ví dụ ten@example.com"
    if errors:
        return _render("lien-he", wizard, errors, values, ["phone", "email"])
    wizard["answers"].update(values, contact_done=True)
    channels = [c for c in wizard["answers"].get("channels") or [] if _channel_ok(c, wizard["answers"])]
    wizard["answers"]["channels"] = channels or None
    _save(wizard)
    return redirect(_next("lien-he"))


def _channel_ok(channel: str, answers: dict) -> bool:
    return bool(answers.get("email")) if channel == "email" else bool(answers.get("phone"))


def _documents(wizard):
    errors = {}
    uploads = wizard["uploads"]
    for doc in wizard["procedure"]["documents"]:
        field = f"doc-{doc['code']}"
        file = request.files.get(field)
        if file is None or not file.filename:
            if doc["required"] and doc["code"] not in uploads:
                errors[field] = UPLOAD_ERRORS["select"].format(name=doc["name"])
            continue
        data = file.read(MAX_FILE + 1)
        if not data:
            errors[field] = UPLOAD_ERRORS["empty"]
            continue
        if len(data) > MAX_FILE:
            errors[field] = UPLOAD_ERRORS["size"]
            continue
        try:
            answer = apis().intake.post("/v1/uploads", files={"file": (file.filename, data, file.mimetype)})
        except ApiError as exc:
            errors[field] = UPLOAD_ERRORS["size" if exc.status == 413 else "type" if exc.status in (415, 422) else "failed"]
            continue
        uploads[doc["code"]] = {"id": answer["id"], "filename": answer.get("filename") or file.filename,
                                "size": answer.get("size") or len(data)}
    _save(wizard)
    if errors:
        order = [f"doc-{d['code']}" for d in wizard["procedure"]["documents"]]
        return _render("giay-to", wizard, errors, order=order)
    wizard["answers"]["documents_done"] = True
    _save(wizard)
    return redirect(_next("giay-to"))


def _delivery(wizard):
    values = _form("method")
    if values["method"] not in wizard["procedure"]["delivery_methods"]:
        return _render("nhan-ket-qua", wizard, {"method": "Chọn cách nhận kết quả"}, values)
    previous = wizard["answers"].get("delivery") or {}
    wizard["answers"]["delivery"] = previous | values if values["method"] == "post" else values
    wizard["answers"]["delivery_done"] = values["method"] == "counter" or bool(previous.get("street"))
    if values["method"] == "counter":
        wizard["quote"] = None
    _save(wizard)
    return redirect(_next("nhan-ket-qua"))


def _address(wizard):
    values = _form("street", "commune", "province")
    errors = {}
    for name, text in (("street", "Nhập số nhà, tên đường, thôn, xóm"), ("commune", "Nhập xã, phường"),
                       ("province", "Nhập tỉnh, thành phố")):
        if not values[name]:
            errors[name] = text
        elif len(values[name]) > 300:
            errors[name] = "Địa chỉ phải có không quá 300 ký tự"
    quote = None
    if not errors:
        try:
            quote = apis().intake.get("/v1/postal/quote", params={
                "province": values["province"], "commune": values["commune"], "weight_g": 200, "service": "return"})
        except ApiError as exc:
            if exc.status == 422 and "province" in exc.errors:
                errors["province"] = "Không tìm thấy tỉnh, thành phố này; nhập tên một trong 34 tỉnh, thành phố"
            elif exc.status == 422 and "commune" in exc.errors:
                errors["commune"] = "Không tìm thấy xã, phường này trong tỉnh, thành phố đã nhập"
            # any other refusal: the price is told when the dossier is received
    if errors:
        return _render("dia-chi", wizard, errors, values, ["street", "commune", "province"])
    wizard["answers"]["delivery"] = {"method": "post"} | values
    wizard["answers"]["delivery_done"] = True
    wizard["quote"] = {"citizen_vnd": quote.get("citizen_vnd")} if quote and "citizen_vnd" in quote else None
    _save(wizard)
    return redirect(_next("dia-chi"))


def _channels(wizard):
    chosen = [c for c in request.form.getlist("channels") if c in ("sms", "zalo", "email")]
    answers = wizard["answers"]
    errors = {}
    if not chosen:
        errors["channels"] = "Chọn ít nhất một cách nhận thông báo"
    elif any(not _channel_ok(c, answers) for c in chosen):
        errors["channels"] = ("Bạn chưa nhập email; chọn SMS hoặc Zalo, hoặc quay lại nhập email" if "email" in chosen
                              and not answers.get("email") else
                              "Bạn chưa nhập số điện thoại; chọn email, hoặc quay lại nhập số điện thoại")
    if errors:
        return _render("thong-bao", wizard, errors, answers | {"channels": chosen})
    answers["channels"] = chosen
    _save(wizard)
    return redirect(_next("thong-bao"))


FIELD_STEPS = {"applicant.type": ("nguoi-nop", "type"), "applicant.full_name": ("thong-tin", "full_name"),
               "applicant.id_number": ("thong-tin", "id_number"), "applicant.address": ("thong-tin", "address"),
               "applicant.phone": ("lien-he", "phone"), "applicant.email": ("lien-he", "email"),
               "notify_channels": ("thong-bao", "channels")}


def _submit(wizard):
    answers = wizard["answers"]
    if not _reachable(wizard, "kiem-tra"):
        return redirect(url_for("filing.step", step=STEPS[0]))
    delivery = answers["delivery"]
    body = {
        "procedure_code": wizard["procedure"]["code"],
        "applicant": {"type": answers["type"], "full_name": answers["full_name"], "id_number": answers["id_number"],
                      "phone": answers.get("phone") or None, "email": answers.get("email") or None,
                      "address": answers["address"]},
        "documents": [{"code": code, "upload_id": up["id"]} for code, up in wizard["uploads"].items()],
        "delivery": {"method": delivery["method"]} | (
            {"address": {"street": delivery["street"], "commune": delivery["commune"], "province": delivery["province"],
                         "recipient_name": answers["full_name"], "phone": answers.get("phone") or None}}
            if delivery["method"] == "post" else {}),
        "notify_channels": answers["channels"],
    }
    try:
        filed = apis().intake.post("/v1/dossiers", json=body, headers={"Idempotency-Key": wizard["key"]})
    except ApiError as exc:
        if exc.status == 422 and exc.errors:
            errors = {}
            for key, message in exc.errors.items():
                step_name, field = FIELD_STEPS.get(key, ("giay-to" if key.startswith("documents") else
                                                         "nhan-ket-qua" if key.startswith("delivery") else None, None))
                errors[f"answer-{step_name or 'other'}"] = _api_field_text(key, message)
            wizard["submit_errors"] = errors
            _save(wizard)
            return _render("kiem-tra", wizard, errors)
        if exc.status == 409:  # the key was used with another body: a new filing starts a new key
            wizard["key"] = str(uuid.uuid4())
            _save(wizard)
            return _render("kiem-tra", wizard, {"answer-other": "Hồ sơ đã thay đổi sau lần gửi trước; hãy kiểm tra lại"
                                                                  " và bấm gửi một lần nữa"})
        raise
    tokens = dict(session.get("tokens") or {})
    tokens[filed["code"]] = filed.get("access_token")
    session["tokens"] = tokens
    session["filed"] = {"code": filed["code"], "submitted_at": filed.get("submitted_at"), "fees": filed.get("fees"),
                        "procedure": wizard["procedure"]["name"], "delivery": delivery["method"],
                        "channels": answers["channels"], "fee_mode": wizard["procedure"].get("fee_mode")}
    wizard["submitted"] = filed["code"]
    wizard.pop("submit_errors", None)
    _save(wizard)
    return redirect(url_for("tracking.confirmation", code=filed["code"]))


def _api_field_text(key: str, message: str) -> str:
    labels = {"applicant.id_number": "Số giấy tờ", "applicant.phone": "Số điện thoại", "applicant.email": "Email",
              "applicant.full_name": "Họ và tên", "applicant.address": "Địa chỉ", "notify_channels": "Cách nhận thông báo"}
    label = labels.get(key) or ("Giấy tờ" if key.startswith("documents") else "Cách nhận kết quả"
                                if key.startswith("delivery") else "Hồ sơ")
    text = message.split(" (")[0]  # intake's messages carry an English gloss in brackets; the citizen reads Vietnamese
    return f"{label}: {text}"


HANDLERS = {"nguoi-nop": _applicant_type, "thong-tin": _applicant_details, "lien-he": _contact,
            "giay-to": _documents, "nhan-ket-qua": _delivery, "dia-chi": _address, "thong-bao": _channels, "kiem-tra": _submit}
