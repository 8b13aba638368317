"""The officer console over processing's Officer API: sign-in, the queue, a case and its actions, the 766 figures.

Sign-in: in development (`PORTAL_ENV=development`) an officer chooses a role, an agency and an id, and the portal
mints an HS256 token with the kit (`servicekit.auth.issue_token`). In production that page does not exist; officers
sign in with the province's identity provider by OpenID Connect (oidc.py; docs/configuration.md, section "portal").
"""
from __future__ import annotations

import functools
import re
import time
from datetime import date, datetime, timedelta

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for

from servicekit.auth import ROLES, issue_token

from . import charts, formats, oidc
from .api import ApiError
from .citizen import agencies
from .web import apis, settings, summary

bp = Blueprint("officer", __name__, url_prefix="/can-bo")
PER_PAGE = 20
STATUSES = list(formats.STATUS_LABELS)
CLOCK_RUNNING = ("received", "in_review")
TARGET_LABELS = {"online": "Tỷ lệ hồ sơ trực tuyến", "full_online": "Tỷ lệ hồ sơ trực tuyến toàn trình",
                 "on_time": "Tỷ lệ giải quyết đúng hạn", "e_result": "Tỷ lệ kết quả điện tử"}


def officer_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        officer = session.get("officer")
        if not officer or officer.get("exp", 0) < time.time():
            session.pop("officer", None)
            return redirect(_sign_in_url())
        try:
            return view(*args, **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                session.pop("officer", None)
                return redirect(_sign_in_url())
            if exc.status == 404:
                abort(404)
            raise

    return wrapper


def _sign_in_url() -> str:
    """The development sign-in in development, the province's identity provider otherwise."""
    endpoint = "officer.sign_in" if settings().development else "oidc.start"
    return url_for(endpoint, tiep=request.path)


def _token() -> str:
    return session["officer"]["token"]


@bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in():
    if not settings().development:
        abort(404)
    values = {"role": "clerk", "agency": "", "sub": ""}
    errors = {}
    if request.method == "POST":
        values = {k: (request.form.get(k) or "").strip() for k in values}
        if values["role"] not in ROLES:
            errors["role"] = "Chọn vai trò"
        if not values["agency"]:
            errors["agency"] = "Chọn cơ quan"
        if not re.fullmatch(r"[A-Za-z0-9._\-]{1,64}", values["sub"] or ""):
            errors["sub"] = "Nhập mã cán bộ gồm chữ không dấu, số, dấu chấm, gạch ngang (tối đa 64 ký tự)"
        if not errors:
            ttl = 8 * 3600
            token = issue_token(settings().kit, sub=values["sub"], role=values["role"], agency=values["agency"],
                                ttl_seconds=ttl)
            session["officer"] = {"token": token, "sub": values["sub"], "role": values["role"],
                                  "agency": values["agency"], "exp": time.time() + ttl - 60}
            session.regenerate()
            target = request.args.get("tiep") or ""
            return redirect(target if target.startswith("/can-bo/") else url_for("officer.queue"))
    return render_template("officer/sign_in.html", v=values, roles=ROLES, agencies=agencies(), errors=errors,
                           error_list=summary(errors, ["role", "agency", "sub"]))


@bp.get("/dang-xuat")
def sign_out_page():
    return render_template("officer/sign_out.html")


@bp.post("/dang-xuat")
def sign_out():
    officer = session.pop("officer", None)
    session.pop("oidc_pending", None)
    session.regenerate()
    return redirect(oidc.end_session_url(officer) or url_for("citizen.start"))


def deadline(case: dict) -> dict | None:
    if case.get("status") not in CLOCK_RUNNING or not case.get("due_at"):
        return None
    left = formats.days_left(case["due_at"])
    if case.get("overdue") or left < 0:
        return {"text": f"Quá hạn {max(-left, 0)} ngày" if left < 0 else "Quá hạn", "colour": "red", "left": left}
    if left == 0:
        return {"text": "Đến hạn hôm nay", "colour": "red", "left": 0}
    return {"text": f"Còn {left} ngày", "colour": "green", "left": left}


@bp.get("/ho-so")
@officer_required
def queue():
    status = request.args.get("trang_thai") or ""
    overdue = request.args.get("qua_han") == "1"
    mine = request.args.get("cua_toi") == "1"
    try:
        page = max(1, min(int(request.args.get("trang") or 1), 1000))
    except ValueError:
        page = 1
    params = {"page": page, "per_page": PER_PAGE}
    if status in STATUSES:
        params["status"] = status
    else:
        status = ""
    if overdue:
        params["overdue"] = "true"
    if mine:
        params["assignee"] = session["officer"]["sub"]
    result = apis().processing.get("/v1/dossiers", token=_token(), params=params)
    total = int(result.get("total") or 0)
    items = [dict(c, deadline=deadline(c)) for c in result.get("items") or []]
    return render_template("officer/queue.html", items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), status=status, overdue=overdue, mine=mine,
                           statuses=STATUSES, filtered=bool(status or overdue or mine))


def _case(code: str) -> dict:
    case = apis().processing.get(f"/v1/dossiers/{code}", token=_token())
    case["deadline"] = deadline(case)
    return case


@bp.get("/ho-so/<code>")
@officer_required
def case(code):
    return render_template("officer/case.html", c=_case(code))


@bp.get("/ho-so/<code>/ket-qua.pdf")
@officer_required
def result(code):
    """The electronic result uploaded for the case (processing: GET /v1/files/{result_file_id})."""
    c = _case(code)
    file_id = c.get("result_file_id")
    if not file_id:
        abort(404)
    answer = apis().processing.get(f"/v1/files/{file_id}", token=_token(), raw=True)
    return Response(answer.content, mimetype="application/pdf", headers={
        "Cache-Control": "private, no-store", "Content-Disposition": f'inline; filename="ket-qua-{code}.pdf"'})


ACTION_FIELDS = {
    "receive": [], "approve": [], "return-result": [],
    "refuse": ["reason"], "reject": ["reason"], "stop": ["reason"],
    "request-supplement": ["reason", "documents", "deadline"],
    "assign": ["assignee"], "submit-for-approval": ["summary"],
    "issue-result": ["file", "paper_original"], "apologize": ["reason", "new_due_date"],
}


def _date_from(prefix: str) -> tuple[date | None, str | None]:
    parts = [(request.form.get(f"{prefix}-{p}") or "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, "empty"
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])), None
    except ValueError:
        return None, "invalid"


@bp.route("/ho-so/<code>/<action>", methods=["GET", "POST"])
@officer_required
def action(code, action):
    if action not in ACTION_FIELDS:
        abort(404)
    c = _case(code)
    if action not in (c.get("allowed_actions") or []):
        return render_template("officer/not_allowed.html", c=c, action=action), 409
    values = {"reason": "", "documents": [], "assignee": session["officer"]["sub"] if
              session["officer"]["role"] == "specialist" else "", "summary": "", "paper_original": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors, values = _body(action, c)
        if not errors:
            try:
                apis().processing.post(f"/v1/dossiers/{code}/{action}", token=_token(), json=body)
            except ApiError as exc:
                if exc.status in (401, 404):
                    raise
                errors = _refusal(exc, action)
            else:
                session["flash"] = f"Đã thực hiện: {formats.ACTION_LABELS[action].lower()}."
                return redirect(url_for("officer.case", code=code))
    return render_template("officer/action.html", c=c, action=action, fields=ACTION_FIELDS[action], v=values,
                           errors=errors, error_list=summary(errors, ["reason", "documents", "deadline", "assignee",
                                                                      "summary", "file", "paper_original",
                                                                      "new_due_date"]),
                           today=datetime.now(formats.VN).date())


def _body(action: str, c: dict) -> tuple[dict, dict, dict]:
    form = request.form
    values = {"reason": (form.get("reason") or "").strip(), "documents": form.getlist("documents"),
              "assignee": (form.get("assignee") or "").strip(), "summary": (form.get("summary") or "").strip(),
              "paper_original": form.get("paper_original") or "",
              "deadline": {p: form.get(f"deadline-{p}", "") for p in ("day", "month", "year")},
              "new_due_date": {p: form.get(f"new_due_date-{p}", "") for p in ("day", "month", "year")}}
    errors: dict[str, str] = {}
    body: dict = {}
    fields = ACTION_FIELDS[action]
    today = datetime.now(formats.VN).date()
    if "reason" in fields:
        if not values["reason"]:
            errors["reason"] = "Nhập lý do"
        elif len(values["reason"]) > 2000:
            errors["reason"] = "Lý do phải có không quá 2000 ký tự"
        body["reason"] = values["reason"]
    if "documents" in fields:
        known = {d.get("code") for d in _procedure_documents(c)}
        chosen = [d for d in values["documents"] if d in known]
        if not chosen:
            errors["documents"] = "Chọn ít nhất một giấy tờ cần bổ sung"
        body["documents"] = chosen
    for name, label in (("deadline", "hạn bổ sung"), ("new_due_date", "ngày hẹn trả mới")):
        if name in fields:
            day, problem = _date_from(name)
            if problem == "empty":
                errors[name] = f"Nhập {label}"
            elif problem:
                errors[name] = f"{label.capitalize()} phải là một ngày có thật, ví dụ 27 3 2027"
            elif day <= today:
                errors[name] = f"{label.capitalize()} phải sau hôm nay"
            else:
                body[name] = day.isoformat()
    if "assignee" in fields:
        if not re.fullmatch(r"[A-Za-z0-9._\-]{1,64}", values["assignee"]):
            errors["assignee"] = "Nhập mã cán bộ được phân công"
        body["assignee"] = values["assignee"]
    if "summary" in fields:
        if not values["summary"]:
            errors["summary"] = "Nhập tóm tắt kết quả thẩm định"
        elif len(values["summary"]) > 2000:
            errors["summary"] = "Tóm tắt phải có không quá 2000 ký tự"
        body["summary"] = values["summary"]
    if "paper_original" in fields:
        if values["paper_original"] not in ("yes", "no"):
            errors["paper_original"] = "Chọn có trả bản giấy hay không"
        body["paper_original"] = values["paper_original"] == "yes"
    if "file" in fields:
        file = request.files.get("file")
        if file is None or not file.filename:
            errors["file"] = "Chọn một tệp"
        else:
            data = file.read(10 * 1024 * 1024 + 1)
            if not data:
                errors["file"] = "Tệp đã chọn bị trống"
            elif len(data) > 10 * 1024 * 1024:
                errors["file"] = "Tệp đã chọn phải nhỏ hơn 10 MB"
            elif not errors:  # upload only once the rest of the form is right
                try:
                    up = apis().processing.post("/v1/files", token=_token(),
                                                files={"file": (file.filename, data, file.mimetype)})
                    body["result_file_id"] = up["id"]
                except ApiError as exc:
                    if exc.status == 401:
                        raise
                    errors["file"] = ("Tệp đã chọn phải là PDF" if exc.status in (415, 422) else
                                      "Tệp đã chọn phải nhỏ hơn 10 MB" if exc.status == 413 else
                                      "Không tải được tệp đã chọn lên – hãy thử lại")
    return body, errors, values


def _procedure_documents(c: dict) -> list[dict]:
    return c.get("procedure_documents") or c.get("documents") or []


def _refusal(exc: ApiError, action: str) -> dict:
    if exc.status == 403:
        return {"action": "Vai trò của bạn không được thực hiện thao tác này"}
    if exc.status == 409:
        text = (exc.message or "").split(" (")[0].strip()
        return {"action": f"Không thực hiện được: {text}" if text else
                "Không thực hiện được vì tình trạng hồ sơ đã thay đổi; hãy tải lại hồ sơ"}
    if exc.status == 422 and exc.errors:
        fields = {"reason", "documents", "deadline", "assignee", "summary", "paper_original", "new_due_date"}
        out = {}
        for key in exc.errors:
            name = key.split(".")[0]
            out[name if name in fields else "action"] = "Giá trị chưa hợp lệ, hãy kiểm tra lại"
        return out
    return {"action": "Không thực hiện được thao tác; hãy thử lại"}


def _parse_day(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


@bp.get("/chi-so-766")
@officer_required
def stats():
    today = datetime.now(formats.VN).date()
    raw_from = request.args.get("tu") or (today.replace(day=1)).strftime("%d/%m/%Y")
    raw_to = request.args.get("den") or today.strftime("%d/%m/%Y")
    errors = {}
    first, last = _parse_day(raw_from), _parse_day(raw_to)
    if first is None:
        errors["tu"] = "Nhập ngày bắt đầu theo dạng ngày/tháng/năm, ví dụ 01/11/2026"
    if last is None:
        errors["den"] = "Nhập ngày kết thúc theo dạng ngày/tháng/năm, ví dụ 30/11/2026"
    if first and last and first > last:
        errors["den"] = "Ngày kết thúc phải sau ngày bắt đầu"
    if first and last and (last - first) > timedelta(days=366):
        errors["den"] = "Chỉ xem được tối đa một năm"
    data = None
    if not errors:
        data = apis().processing.get("/v1/stats/766", token=_token(),
                                     params={"from": first.isoformat(), "to": last.isoformat()})
    chart = charts.indicator_bars(data) if data else None
    return render_template("officer/stats.html", data=data, chart=chart, tu=raw_from, den=raw_to, errors=errors,
                           error_list=summary(errors, ["tu", "den"]), target_labels=TARGET_LABELS)
