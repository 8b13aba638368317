"""Find a procedure and read its page (OpenCPS's sections), with its QR code from intake."""
from __future__ import annotations

import time

from flask import Blueprint, Response, abort, render_template, request

from .api import ApiError
from .web import apis

bp = Blueprint("citizen", __name__)
PER_PAGE = 10
_agencies_cache: dict = {"at": 0.0, "items": []}


def agencies() -> list[dict]:
    """The agencies that offer procedures (for the search filter), read from the catalogue and kept 5 minutes."""
    if time.monotonic() - _agencies_cache["at"] < 300 and _agencies_cache["items"]:
        return _agencies_cache["items"]
    found: dict[str, str] = {}
    page = 1
    while page <= 20:
        answer = apis().intake.get("/v1/procedures", params={"page": page, "per_page": 100})
        for item in answer.get("items", []):
            agency = item.get("agency") or {}
            found.setdefault(agency.get("code"), agency.get("name"))
        if page * 100 >= int(answer.get("total") or 0):
            break
        page += 1
    items = sorted(({"code": c, "name": n} for c, n in found.items() if c), key=lambda a: a["name"] or "")
    _agencies_cache.update(at=time.monotonic(), items=items)
    return items


@bp.get("/")
def start():
    q = (request.args.get("q") or "").strip()[:200]
    agency = (request.args.get("co_quan") or "").strip()
    level = request.args.get("muc_do") or ""
    if level not in ("", "full_online", "partial_online"):
        level = ""
    try:
        page = max(1, min(int(request.args.get("trang") or 1), 1000))
    except ValueError:
        page = 1
    params = {"page": page, "per_page": PER_PAGE}
    if q:
        params["q"] = q
    if agency:
        params["agency"] = agency
    if level:
        params["level"] = level
    try:
        result = apis().intake.get("/v1/procedures", params=params)
    except ApiError:
        result = {"items": [], "total": 0}
    total = int(result.get("total") or 0)
    context = dict(q=q, agency=agency, level=level, page=page, result=result, total=total,
                   pages=max(1, -(-total // PER_PAGE)), agencies=agencies(), searched=bool(q or agency or level))
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "ket-qua":
        return render_template("citizen/_results.html", **context)
    return render_template("citizen/start.html", **context)


def load_procedure(code: str) -> dict:
    try:
        return apis().intake.get(f"/v1/procedures/{code}")
    except ApiError as exc:
        if exc.status in (404, 422):
            abort(404)
        raise


@bp.get("/thu-tuc/<code>")
def procedure(code):
    return render_template("citizen/procedure.html", p=load_procedure(code))


@bp.get("/thu-tuc/<code>/qr.png")
def procedure_qr(code):
    try:
        answer = apis().intake.get(f"/v1/procedures/{code}/qr.png", raw=True)
    except ApiError:
        abort(404)
    return Response(answer.content, mimetype="image/png", headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/huong-dan")
def help():
    return render_template("citizen/help.html")
