"""Officer API: flask-smorest blueprints, one transaction per request, own agency only."""
from flask import g
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.web import NotFound, current_db, current_settings

from . import queries
from .schemas import CaseDetailSchema, CasePageSchema, CaseQuerySchema

blp = Blueprint("dossiers", __name__, url_prefix="/v1/dossiers", description="Hồ sơ của cơ quan (officer view)")


def _kit():
    return current_settings().kit


@blp.get("")
@officer_required(_kit)
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CasePageSchema)
def list_dossiers(args):
    """Dossiers of the officer's agency, newest first."""
    with current_db().transaction(readonly=True) as conn:
        rows, total = queries.list_cases(
            conn, g.officer["agency"], status=args.get("status"), assignee=args.get("assignee"),
            page=args["page"], per_page=args["per_page"],
        )
    return {"items": rows, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.get("/<code>")
@officer_required(_kit)
@blp.response(200, CaseDetailSchema)
def get_dossier(code):
    """One dossier with its audit trail; another agency's dossier is a 404, like an unknown one."""
    with current_db().transaction(readonly=True) as conn:
        case = queries.get_case(conn, code, agency=g.officer["agency"])
        if case is None:
            raise NotFound("Không tìm thấy hồ sơ (dossier not found)")
        audit = queries.list_audit(conn, case.id)
    return {**case._mapping, "audit": audit}
