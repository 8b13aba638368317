"""Flask: POST /v1/dossiers stores the dossier, commits, then sends the Celery task (after the commit)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Flask, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .models import Dossier, Session, create_all
from .tasks import open_case

app = Flask("peer")
PHONE = re.compile(r"^84\d{9}$")


@app.post("/v1/dossiers")
def file_dossier():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {"message": "JSON body required"}, 400
    applicant = body.get("applicant") if isinstance(body.get("applicant"), dict) else {}
    errors = {}
    if not isinstance(body.get("procedure_code"), str) or not body["procedure_code"]:
        errors["procedure_code"] = "required"
    if not isinstance(applicant.get("full_name"), str) or not applicant["full_name"].strip():
        errors["applicant.full_name"] = "required"
    if not isinstance(applicant.get("phone"), str) or not PHONE.match(applicant["phone"]):
        errors["applicant.phone"] = "84 and 9 digits"
    if errors:
        return {"message": "invalid", "errors": errors}, 422
    key = request.headers.get("Idempotency-Key")
    try:
        with Session.begin() as session:
            dossier = Dossier(idempotency_key=key, procedure_code=body["procedure_code"],
                              full_name=applicant["full_name"], phone=applicant["phone"])
            session.add(dossier)
            session.flush()
            dossier.code = f"999.00.00.H99-{datetime.now(timezone.utc):%y%m%d}-{dossier.id:06d}"
    except IntegrityError:
        with Session() as session:
            dossier = session.scalar(select(Dossier).where(Dossier.idempotency_key == key))
        return {"code": dossier.code, "status": dossier.status}, 200
    open_case.delay(dossier.id)  # after the commit: the task never sees an uncommitted row
    return {"code": dossier.code, "status": "submitted"}, 201


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


def init() -> None:
    create_all()
