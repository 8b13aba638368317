"""Citizen API: flask-smorest blueprints, one transaction per request."""
from __future__ import annotations

import logging

from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from servicekit import logs
from servicekit.auth import bearer_token
from servicekit.db import after_commit
from servicekit.events import rfc3339
from servicekit.idempotency import body_hash, find_replay, require_key, store_response
from servicekit.text import fold_ascii
from servicekit.web import NotFound, current_db, current_settings

from . import queries, use_cases
from .metrics import DOSSIERS_SUBMITTED
from .models import idempotency_keys
from .schemas import (DossierViewSchema, FiledSchema, FilingSchema, LookupAnswerSchema, LookupSchema,
                      ProcedurePageSchema, ProcedureQuerySchema, ProcedureSchema)

log = logging.getLogger(__name__)

procedures_blp = Blueprint("procedures", __name__, url_prefix="/v1/procedures",
                           description="Danh mục thủ tục hành chính (procedure catalogue)")
dossiers_blp = Blueprint("dossiers", __name__, url_prefix="/v1/dossiers",
                         description="Nộp và tra cứu hồ sơ (filing and tracking a dossier)")

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
    }


@procedures_blp.get("")
@procedures_blp.arguments(ProcedureQuerySchema(), location="query")
@procedures_blp.response(200, ProcedurePageSchema)
def list_procedures(args):
    """Procedures, filtered by text (name or code, with or without diacritics), agency and service level."""
    folded = fold_ascii(args["q"]).lower().strip() if args.get("q") else None
    with current_db().transaction(readonly=True) as conn:
        rows, total = queries.list_procedures(conn, folded_q=folded, agency=args.get("agency"), level=args.get("level"),
                                              page=args["page"], per_page=args["per_page"])
    return {"items": [_procedure(row) for row in rows], "page": args["page"], "per_page": args["per_page"], "total": total}


@procedures_blp.get("/<code>")
@procedures_blp.response(200, ProcedureSchema)
@procedures_blp.alt_response(404, description="Unknown procedure code")
def get_procedure(code):
    """One procedure: agency, service level, deadline, fee, documents and delivery methods."""
    with current_db().transaction(readonly=True) as conn:
        row = queries.get_procedure(conn, code)
    if row is None:
        raise NotFound("Không tìm thấy thủ tục (procedure not found)")
    return _procedure(row)


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


@dossiers_blp.post("")
@dossiers_blp.doc(parameters=[_KEY_HEADER])
@dossiers_blp.arguments(FilingSchema())  # an instance: webargs would build one per request from a class
@dossiers_blp.response(201, FiledSchema)
@dossiers_blp.alt_response(400, description="Missing Idempotency-Key, or malformed JSON")
@dossiers_blp.alt_response(409, description="Idempotency-Key already used with another body")
@dossiers_blp.alt_response(415, description="Body is not application/json")
def file_dossier(args):
    """File a dossier: stored with its first timeline entry and dossier.submitted.v1, in one transaction."""
    key = require_key()
    request_hash = body_hash(request.get_json())
    settings = current_settings()
    catalogue = current_app.extensions["intake.catalogue"]
    # Optimistic: file first and store the answer under the key; the key's primary key tells us, at
    # the end of the same transaction, that this key was used before (rare), and only then do we read
    # the stored answer. The common path saves a SELECT.
    try:
        with current_db().transaction() as conn:
            filed = use_cases.file_dossier(conn, catalogue, settings, args)
            answer = _answer(filed)
            # The stored answer keeps the token sealed, never in clear (see use_cases.seal_token).
            stored = {**answer, "access_token": None,
                      "access_token_sealed": use_cases.seal_token(settings.token_secret, filed.code, filed.access_token)}
            store_response(conn, idempotency_keys, IDEMPOTENCY_SCOPE, key, request_hash, 201, stored)
            after_commit(conn, lambda filed=filed: _after_filing(filed))
    except IntegrityError:
        # Rolled back, dossier number included. The key was used before, or a concurrent request with
        # it committed first: replay that answer (409 when it was for another body).
        with current_db().transaction(readonly=True) as conn:
            replay = find_replay(conn, idempotency_keys, IDEMPOTENCY_SCOPE, key, request_hash)
        if replay is None:
            raise
        status, answer = replay
        sealed = answer.pop("access_token_sealed")
        answer["access_token"] = use_cases.unseal_token(settings.token_secret, answer["code"], sealed)
        return answer, status, {"Location": answer["links"]["self"]}
    return answer, 201, {"Location": answer["links"]["self"]}


@dossiers_blp.get("/<code>")
@dossiers_blp.doc(security=_BEARER)
@dossiers_blp.response(200, DossierViewSchema)
@dossiers_blp.alt_response(401, description="No bearer token")
@dossiers_blp.alt_response(404, description="Unknown dossier, or a token that is not this dossier's (same answer)")
def get_dossier(code):
    """The citizen's view of their dossier, with the access token given at filing or by lookup."""
    token = bearer_token()
    with current_db().transaction(readonly=True) as conn:
        dossier = use_cases.find_dossier_by_token(conn, code, token)
        if dossier is None:
            raise NotFound(DOSSIER_NOT_FOUND)
        return use_cases.citizen_view(conn, dossier)


@dossiers_blp.post("/lookup")
@dossiers_blp.arguments(LookupSchema())
@dossiers_blp.response(200, LookupAnswerSchema)
@dossiers_blp.alt_response(404, description="No dossier with this code and ID number")
@dossiers_blp.alt_response(429, description="Too many misses from this client; see Retry-After")
def lookup_dossier(args):
    """Find a dossier by its code and the applicant's ID number; answers with a fresh access token."""
    settings = current_settings()
    with current_db().transaction() as conn:
        found = use_cases.lookup_dossier(conn, settings, args["code"], args["id_number"], request.remote_addr or "unknown")
    if found is None:
        raise NotFound(DOSSIER_NOT_FOUND)  # after the commit, so the miss is counted
    return found
