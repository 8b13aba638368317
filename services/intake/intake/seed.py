"""Reference data: the procedure catalogue shipped in data/procedures.json, upserted by code."""
from __future__ import annotations

import json
import os

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from servicekit.db import Database
from servicekit.tables import now
from servicekit.text import fold_ascii

from . import queries
from .events import DELIVERY_METHODS, FEE_MODES, LEVELS

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "procedures.json")

_AGENCY_CODE = validate.Regexp(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")  # e.g. 000.00.06.H56 (Decision 20/2020/QĐ-TTg)
_PROCEDURE_CODE = validate.Regexp(r"^\d\.\d{6}(\.\d{3}\.\d{2}\.\d{2})?\.[A-Z]\d{2}$")  # 1.001193.H56


class DocumentSpecSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9_]{2,40}$"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    required = fields.Boolean(required=True)


class FieldSpecSchema(Schema):
    """The procedure's field (lĩnh vực): the national MALINHVUC / TENLINHVUC, as the DVCQG catalogue gives them."""
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1))


class AgencySpecSchema(Schema):
    code = fields.String(required=True, validate=_AGENCY_CODE)
    name = fields.String(required=True, validate=validate.Length(min=1))
    province = fields.String(required=True, validate=validate.Length(min=1))


class ProcedureSpecSchema(Schema):
    code = fields.String(required=True, validate=_PROCEDURE_CODE)
    name = fields.String(required=True, validate=validate.Length(min=1))
    agency = fields.String(required=True, validate=_AGENCY_CODE)
    field = fields.Nested(FieldSpecSchema, load_default=None, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    processing_days = fields.Integer(required=True, validate=validate.Range(min=0))
    fee_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    fee_mode = fields.String(required=True, validate=validate.OneOf(FEE_MODES))
    documents = fields.List(fields.Nested(DocumentSpecSchema), required=True, validate=validate.Length(min=1))
    delivery_methods = fields.List(fields.String(validate=validate.OneOf(DELIVERY_METHODS)), required=True,
                                   validate=validate.Length(min=1))
    result_is_paper = fields.Boolean(required=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        codes = [doc["code"] for doc in data["documents"]]
        if len(codes) != len(set(codes)):
            raise ValidationError("document codes repeat", field_name="documents")
        if (data["fee_vnd"] == 0) != (data["fee_mode"] == "none"):
            raise ValidationError("fee_mode is 'none' exactly when fee_vnd is 0", field_name="fee_mode")


class ReferenceDataSchema(Schema):
    agencies = fields.List(fields.Nested(AgencySpecSchema), required=True)
    procedures = fields.List(fields.Nested(ProcedureSpecSchema), required=True)

    @validates_schema
    def _references(self, data, **kwargs):
        known = {agency["code"] for agency in data["agencies"]}
        for kind in ("agencies", "procedures"):
            codes = [item["code"] for item in data[kind]]
            if len(codes) != len(set(codes)):
                raise ValidationError(f"{kind} codes repeat", field_name=kind)
        unknown = sorted({p["agency"] for p in data["procedures"]} - known)
        if unknown:
            raise ValidationError(f"procedures name unknown agencies: {unknown}", field_name="procedures")


def load_reference_data(path: str = DATA_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        return ReferenceDataSchema().load(json.load(handle))


def search_text(*parts: str) -> str:
    return fold_ascii(" ".join(parts)).lower()


def seed(db: Database, path: str = DATA_FILE) -> dict:
    """Upsert agencies and procedures by code, in one transaction; running it again changes nothing. A procedure
    the national catalogue sync owns (source "dvcqg") is left as the sync made it."""
    data = load_reference_data(path)
    moment = now()
    names = {agency["code"]: agency["name"] for agency in data["agencies"]}
    with db.transaction() as conn:
        for agency in data["agencies"]:
            queries.upsert_agency(conn, **agency, updated_at=moment)
        for proc in data["procedures"]:
            queries.seed_procedure(
                conn,
                code=proc["code"], name=proc["name"], agency_code=proc["agency"],
                search_text=search_text(proc["name"], proc["code"], names[proc["agency"]]),
                level=proc["level"], processing_days=proc["processing_days"], fee_vnd=proc["fee_vnd"],
                fee_mode=proc["fee_mode"], documents=proc["documents"], delivery_methods=proc["delivery_methods"],
                result_is_paper=proc["result_is_paper"], updated_at=moment,
                field_code=(proc["field"] or {}).get("code"), field_name=(proc["field"] or {}).get("name"),
            )
    return {"agencies": len(data["agencies"]), "procedures": len(data["procedures"])}
