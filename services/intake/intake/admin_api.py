"""Admin API of the national catalogue sync: ask for a run, read the runs and their change reports, and edit the
mapping of national procedure codes to the province's own. An admin's officer JWT, as processing's /v1/sync/dvcqg;
the catalogue is the province's, so any agency's admin may act (the run records who asked)."""
from __future__ import annotations

import re

from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from servicekit.auth import officer_required
from servicekit.tables import now as utcnow
from servicekit.web import DomainError, Invalid, NotFound, current_db, current_settings

from . import catalogue_sync, queries

admin_blp = Blueprint("catalogue_admin", __name__, url_prefix="/v1/admin/catalogue",
                      description="Đồng bộ danh mục thủ tục từ CSDL quốc gia về TTHC (admin)")

_MAX_ID = 2**53  # ids beyond this are not ours (and would overflow SQLite's integer)
_NATIONAL_CODE = re.compile(r"^[0-9A-Za-z.\-_]{3,60}$")


# OpenAPI examples (every endpoint has one; test_admin_catalogue checks they match the schemas).
RUN_EXAMPLE = {
    "id": 7, "trigger": "admin", "requested_by": "admin-01", "full": False, "state": "ok",
    "requested_at": "2026-11-29T01:00:00+00:00", "started_at": "2026-11-29T01:00:04+00:00",
    "finished_at": "2026-11-29T01:00:09+00:00", "error": None,
    "summary": {"listed": 26, "fetched": 2, "unchanged": 24, "added": 1, "changed": 1, "withdrawn": 0,
                "restored": 0, "skipped": 0},
}
REPORT_EXAMPLE = {**RUN_EXAMPLE, "report": {
    "added": [{"code": "1.013999.H56", "national_code": "1.013999.H56", "name": "Đăng ký giám hộ",
               "agency_code": "000.00.06.H56", "level": "partial_online", "processing_days": 3, "fee_vnd": 0,
               "fee_mode": "none", "documents": [{"code": "TK_GIAM_HO", "name": "Tờ khai đăng ký giám hộ",
                                                  "required": True}]}],
    "changed": [{"code": "1.004873.H56", "national_code": "1.004873.H56",
                 "changes": {"fee_vnd": {"from": 10000, "to": 15000}, "processing_days": {"from": 3, "to": 2}}}],
    "withdrawn": [], "restored": [], "skipped": []}}
MAPPING_EXAMPLE = {"national_code": "1.001193.000.00.00.H56", "local_code": "1.001193.H56",
                   "note": "Mã quốc gia đầy đủ của thủ tục đăng ký khai sinh", "updated_by": "admin-01",
                   "updated_at": "2026-11-29T01:00:00+00:00"}


class NotConfigured(DomainError):
    """The worker has no portal to ask: a state of the installation, not a fault of the server (no 5xx)."""
    status = 409


def _kit():
    return current_settings().kit


class RunRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    full = fields.Boolean(load_default=False, metadata={
        "description": "fetch every procedure with LayThuTuc, not only those whose list mark moved"})


class RunSchema(Schema):
    id = fields.Integer()
    trigger = fields.String(metadata={"enum": ["schedule", "admin"]})
    requested_by = fields.String(allow_none=True)
    full = fields.Boolean()
    state = fields.String(metadata={"enum": ["requested", "running", "ok", "failed"]})
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    summary = fields.Dict(allow_none=True, metadata={
        "description": "listed, fetched, unchanged, added, changed, withdrawn, restored, skipped"})


class RunReportSchema(RunSchema):
    report = fields.Dict(allow_none=True, metadata={
        "description": "added [{code, national_code, fields}], changed [{code, national_code, changes: {field: "
                       "{from, to}}}], withdrawn [{code, national_code, reason: missing_upstream|not_public, "
                       "dossiers?}], restored [{code, national_code}], skipped [{national_code, code, reason}]"})


class RunListQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=_MAX_ID))


class RunListSchema(Schema):
    items = fields.List(fields.Nested(RunSchema))


class MappingBodySchema(Schema):
    class Meta:
        unknown = RAISE

    local_code = fields.String(required=True, validate=validate.Regexp(
        catalogue_sync.LOCAL_CODE.pattern, error="must be a procedure code of the province's form (1.001193.H56)"))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class MappingSchema(Schema):
    national_code = fields.String()
    local_code = fields.String()
    note = fields.String(allow_none=True)
    updated_by = fields.String()
    updated_at = fields.DateTime()


class MappingListSchema(Schema):
    items = fields.List(fields.Nested(MappingSchema))


def _run(row, with_report: bool = False) -> dict:
    view = dict(row._mapping)
    if not with_report:
        view.pop("report", None)
    return view


@admin_blp.post("/runs")
@officer_required(_kit, "admin")
@admin_blp.arguments(RunRequestSchema)
@admin_blp.response(202, RunSchema, example={**RUN_EXAMPLE, "state": "requested", "started_at": None,
                                             "finished_at": None, "summary": None})
@admin_blp.alt_response(409, description="the national portal's URL is not configured (INTAKE_DVCQG_URL)")
def request_run(args):
    """Ask the worker for a catalogue sync run now; answers the run (the one already waiting or running, if any)."""
    if not current_settings().dvcqg.url:
        raise NotConfigured("Chưa cấu hình kết nối Cổng DVCQG (INTAKE_DVCQG_URL); không thể đồng bộ danh mục.")
    with current_db().transaction() as conn:
        run, _ = catalogue_sync.request_run(conn, officer=g.officer, full=args["full"], now=utcnow())
    return _run(run)


@admin_blp.get("/runs")
@officer_required(_kit, "admin")
@admin_blp.arguments(RunListQuerySchema, location="query")
@admin_blp.response(200, RunListSchema, example={"items": [RUN_EXAMPLE]})
def list_runs(args):
    """Catalogue sync runs, newest first, with their summary (`before`: the id to page back from)."""
    with current_db().transaction(readonly=True) as conn:
        rows = queries.list_catalogue_runs(conn, limit=args["limit"], before=args["before"])
    return {"items": [_run(row) for row in rows]}


@admin_blp.get("/runs/<int:run_id>")
@officer_required(_kit, "admin")
@admin_blp.response(200, RunReportSchema, example=REPORT_EXAMPLE)
@admin_blp.alt_response(404, description="no such run")
def get_run(run_id):
    """One run and its change report: added, changed (field by field), withdrawn, restored and skipped procedures."""
    with current_db().transaction(readonly=True) as conn:
        row = queries.get_catalogue_run(conn, run_id) if run_id <= _MAX_ID else None
    if row is None:
        raise NotFound("Không tìm thấy lần đồng bộ (run not found)")
    return _run(row, with_report=True)


@admin_blp.get("/mappings")
@officer_required(_kit, "admin")
@admin_blp.response(200, MappingListSchema, example={"items": [MAPPING_EXAMPLE]})
def list_mappings():
    """National procedure codes (MATTHC) mapped to the province's own, where they differ."""
    with current_db().transaction(readonly=True) as conn:
        return {"items": [dict(row._mapping) for row in queries.list_code_mappings(conn)]}


@admin_blp.put("/mappings/<national_code>")
@officer_required(_kit, "admin")
@admin_blp.arguments(MappingBodySchema)
@admin_blp.response(200, MappingSchema, example=MAPPING_EXAMPLE)
@admin_blp.alt_response(422, description="a code of the wrong form, or a local code another national code maps to")
def put_mapping(body, national_code):
    """Map a national procedure code to the province's code; the next run applies it."""
    if not _NATIONAL_CODE.match(national_code):
        raise Invalid("Mã thủ tục quốc gia không hợp lệ.", {"path": {"national_code": ["3-60 letters, digits, . - _"]}})
    with current_db().transaction() as conn:
        other = queries.get_code_mapping_by_local(conn, body["local_code"])
        if other is not None and other.national_code != national_code:
            raise Invalid("Mã thủ tục của tỉnh đã được gán cho mã quốc gia khác.",
                          {"json": {"local_code": [f"already mapped from {other.national_code}"]}})
        values = dict(national_code=national_code, local_code=body["local_code"], note=body["note"],
                      updated_by=g.officer["sub"], updated_at=utcnow())
        queries.upsert_code_mapping(conn, **values)
    return values


@admin_blp.delete("/mappings/<national_code>")
@officer_required(_kit, "admin")
@admin_blp.response(204)
@admin_blp.alt_response(404, description="no mapping for this national code")
def delete_mapping(national_code):
    """Drop a mapping: the national code maps to itself again from the next run."""
    with current_db().transaction() as conn:
        if not queries.delete_code_mapping(conn, national_code):
            raise NotFound("Không có ánh xạ cho mã thủ tục quốc gia này (no mapping)")
