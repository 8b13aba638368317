"""HTTP request and response schemas of the officer API."""
from marshmallow import Schema, fields, validate

from servicekit.web import PageArgs

STATUSES = ("submitted", "received", "refused", "in_review", "supplement_requested", "awaiting_payment",
            "withdrawn", "stopped", "result_ready", "returned")


class CaseQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    assignee = fields.String()


class AuditEntrySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    note = fields.String(allow_none=True)


class CaseSchema(Schema):
    code = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    agency_code = fields.String()
    applicant_name = fields.String()
    applicant_type = fields.String()
    channel = fields.String()
    delivery_method = fields.String()
    processing_days = fields.Integer()
    fee_vnd = fields.Integer()
    status = fields.String()
    assignee = fields.String(allow_none=True)
    submitted_at = fields.DateTime()


class CaseDetailSchema(CaseSchema):
    audit = fields.List(fields.Nested(AuditEntrySchema))


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
