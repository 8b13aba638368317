"""HTTP request and response schemas of the officer API."""
from marshmallow import RAISE, Schema, fields, validate

from servicekit.web import PageArgs

from .calendar import VN_TZ
from .workflow import STATUSES


class CaseQuerySchema(PageArgs):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(STATUSES))
    overdue = fields.Boolean()
    assignee = fields.String()
    procedure = fields.String()
    received_from = fields.Date()
    received_to = fields.Date(metadata={"description": "inclusive"})


class AuditEntrySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    note = fields.String(allow_none=True)


class SupplementRequestSchema(Schema):
    reason = fields.String()
    documents = fields.List(fields.Dict())
    deadline = fields.Date()
    request_no = fields.Integer()
    from_status = fields.String()


class CaseSchema(Schema):
    code = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    procedure_level = fields.String(allow_none=True)
    agency_code = fields.String()
    applicant_name = fields.String()
    applicant_type = fields.String()
    channel = fields.String()
    delivery_method = fields.String()
    processing_days = fields.Integer()
    fee_vnd = fields.Integer()
    fee_mode = fields.String()
    fee_paid = fields.Boolean()
    status = fields.String()
    status_code = fields.Integer()
    status_label = fields.String()
    overdue = fields.Boolean()
    assignee = fields.String(allow_none=True)
    approval = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    supplement_count = fields.Integer()
    supplement_request = fields.Nested(SupplementRequestSchema, allow_none=True)
    delivery_failed = fields.Boolean()
    apologized_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    allowed_actions = fields.List(fields.String(), metadata={"description": "actions the calling officer may take now"})


class NationalSyncSchema(Schema):
    state = fields.String(metadata={"description": "of the latest step: pending | sent | parked"})
    status_code = fields.Integer(metadata={"description": "the latest step's national code (TrangThai)"})
    seq = fields.Integer()
    steps = fields.Integer(metadata={"description": "steps queued for the portal so far"})
    parked = fields.Integer(metadata={"description": "steps refused by the portal, waiting for a re-sync"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_answer = fields.String(allow_none=True)


class CaseDetailSchema(CaseSchema):
    applicant_phone = fields.String(allow_none=True)
    applicant_email = fields.String(allow_none=True)
    applicant_address = fields.String(allow_none=True)
    delivery_address = fields.Dict(allow_none=True)
    documents = fields.List(fields.Dict(), allow_none=True)
    procedure_documents = fields.List(fields.Dict(), allow_none=True)
    result_file_id = fields.String(allow_none=True)
    result_sha256 = fields.String(allow_none=True)
    paper_original = fields.Boolean(allow_none=True)
    approval_summary = fields.String(allow_none=True)
    audit = fields.List(fields.Nested(AuditEntrySchema))
    national_sync = fields.Nested(NationalSyncSchema, allow_none=True,
                                  metadata={"description": "the national portal (DVCQG) sync of this dossier"})


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class FileSchema(Schema):
    id = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class FileLinkQuerySchema(Schema):
    """A signed, expiring link (intake fetching a dossier's issued result); without both, an officer's JWT."""
    expires = fields.Integer(metadata={"description": "unix seconds after which the link no longer works"})
    sig = fields.String(validate=validate.Length(max=128),
                        metadata={"description": 'hex HMAC-SHA256 of "<file id>|<expires>" (MOTCUA_FILE_LINK_SECRET)'})


class DueDateQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.AwareDateTime(required=True, data_key="from", default_timezone=VN_TZ,
                                 metadata={"description": "RFC 3339; without an offset it is Vietnam time"})
    working_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))


class SkippedDaySchema(Schema):
    day = fields.Date()
    why = fields.String()


class DueDateSchema(Schema):
    start = fields.DateTime(metadata={"description": "when the clock starts (out-of-hours rules applied)"})
    due_at = fields.DateTime()
    due_at_local = fields.String()
    working_days = fields.Integer()
    days_off_skipped = fields.List(fields.Nested(SkippedDaySchema))


class CalendarDayBodySchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(("off", "work")))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class CalendarDaySchema(Schema):
    day = fields.Date()
    kind = fields.String()
    note = fields.String(allow_none=True)
    updated_by = fields.String()
    updated_at = fields.DateTime()


class CalendarQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.Date(data_key="from")
    to = fields.Date()


class CalendarListSchema(Schema):
    items = fields.List(fields.Nested(CalendarDaySchema))


class StatsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True, metadata={"description": "inclusive"})


class IndicatorSchema(Schema):
    id = fields.String()
    name = fields.String()
    numerator = fields.Float()
    denominator = fields.Integer()
    rate = fields.Float(allow_none=True)
    full_marks_at = fields.Float()
    score = fields.Float(allow_none=True, metadata={"description": "% of the indicator's full marks"})
    max_points = fields.Integer()
    points = fields.Float(allow_none=True)


class TargetStandingSchema(Schema):
    target = fields.String()
    required = fields.Float()
    actual = fields.Float(allow_none=True)
    met = fields.Boolean()


class StatsSchema(Schema):
    agency = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    indicators = fields.List(fields.Nested(IndicatorSchema))
    targets = fields.List(fields.Nested(TargetStandingSchema))


class SyncQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(load_default="parked", validate=validate.OneOf(("parked", "pending")))


class SyncStepSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    seq = fields.Integer()
    status_code = fields.Integer()
    actor_name = fields.String()
    at = fields.DateTime()
    content = fields.String()
    created_at = fields.DateTime()
    state = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_answer = fields.String(allow_none=True)
    cuts = fields.List(fields.Dict(), allow_none=True)


class SyncListSchema(Schema):
    items = fields.List(fields.Nested(SyncStepSchema))


class ResyncSchema(Schema):
    code = fields.String()
    requeued = fields.Integer(metadata={"description": "parked steps put back in the queue"})
