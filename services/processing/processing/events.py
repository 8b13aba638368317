"""Event types processing publishes (one per edge of the workflow graph) and consumes (only the fields it reads).

Every dossier event processing publishes carries the BASE of /work/plan/EVENTS.md: the dossier, its status
AFTER the edge, the moment, the actor and `seq`, strictly increasing per dossier over all of processing's
events, so a consumer can ignore an event older than the last one it applied.
"""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("processing")
PUBLISHES = Catalog("processing")

STATUS_CODES = {
    "submitted": 1, "received": 2, "refused": 3, "in_review": 4, "supplement_requested": 5,
    "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "result_ready": 9, "returned": 10,
}
FEE_MODES = ("before", "after", "none")
DELIVERY_METHODS = ("counter", "post")


class DossierEventBase(EventSchema):
    code = fields.String(required=True)
    agency_code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUS_CODES))
    status_code = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    at = fields.AwareDateTime(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    actor = fields.String(required=True)


class _DocumentRef(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


_REQUIRED_TEXT = dict(required=True, validate=validate.Length(min=1))
_MONEY = dict(required=True, strict=True, validate=validate.Range(min=0))


def _publish(name: str, status: str, extra: dict, example_extra: dict, description: str, actor: str = "clerk-07"):
    """One published type: BASE + `extra` fields, an example with the status after the edge."""
    schema = type(name.replace(".", "_"), (DossierEventBase,), dict(extra))
    example = {
        "code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "procedure_code": "1.001193.H56",
        "status": status, "status_code": STATUS_CODES[status], "at": "2026-11-25T02:00:00.000Z", "seq": 3,
        "actor": actor, **example_extra,
    }
    return PUBLISHES.add(name, schema, example, description)


PAYMENT_REQUIRED = _publish(
    "dossier.payment_required.v1", "awaiting_payment", {"amount_vnd": fields.Integer(**_MONEY)},
    {"amount_vnd": 50000, "seq": 1},
    "The case opened waiting for the fee paid before processing (status 6); payment's order is already open.",
    actor="system",
)
PAYMENT_RECEIVED = _publish(
    "dossier.payment_received.v1", "submitted", {"reference": fields.String(required=True)},
    {"reference": "MCK7QX2MZP4A", "seq": 2},
    "6 -> 1 after payment.completed: the fee is paid, the dossier waits at the counter.", actor="system",
)
RECEIVED = _publish(
    "dossier.received.v1", "received",
    {"received_at": fields.AwareDateTime(required=True), "due_at": fields.AwareDateTime(required=True),
     "processing_days": fields.Integer(required=True, strict=True), "received_by": fields.String(required=True)},
    {"received_at": "2026-11-25T02:00:00.000Z", "due_at": "2026-11-30T02:00:00.000Z", "processing_days": 3,
     "received_by": "clerk-07", "seq": 1},
    "1 -> 2: the counter accepted the dossier (form 01); the due date counts working hours from reception.",
)
REFUSED = _publish(
    "dossier.refused.v1", "refused",
    {"reason": fields.String(**_REQUIRED_TEXT),
     "cause": fields.String(required=True, validate=validate.OneOf(("officer", "supplement_deadline")))},
    {"reason": "Hồ sơ không thuộc thẩm quyền giải quyết", "cause": "officer", "seq": 1},
    "1 -> 3: not accepted (form 03), by the clerk or because a supplement request's deadline passed.",
)
SUPPLEMENT_REQUESTED = _publish(
    "dossier.supplement_requested.v1", "supplement_requested",
    {"reason": fields.String(**_REQUIRED_TEXT),
     "documents": fields.List(fields.Nested(_DocumentRef), required=True),
     "deadline": fields.Date(required=True),
     "request_no": fields.Integer(required=True, strict=True, validate=validate.Range(min=1)),
     "from_status": fields.String(required=True, validate=validate.OneOf(("submitted", "received", "in_review")))},
    {"reason": "Bản sao giấy chứng sinh chưa rõ nét", "documents": [{"code": "GCS", "name": "Giấy chứng sinh"}],
     "deadline": "2026-12-04", "request_no": 1, "from_status": "received"},
    "1|2|4 -> 5 (form 02): the citizen must add or fix documents by `deadline`; the clock is paused. "
    "request_no > 1 flags a second request (it counts as late in the 766 rule).",
)
SUPPLEMENT_RECEIVED = _publish(
    "dossier.supplement_received.v1", "received",
    {"due_at": fields.AwareDateTime(required=True, allow_none=True), "resumed_at": fields.AwareDateTime(required=True)},
    {"due_at": "2026-12-01T04:00:00.000Z", "resumed_at": "2026-11-26T02:00:00.000Z", "seq": 4},
    "5 -> the state it left: the supplement arrived; the due date moved by the paused working time "
    "(null when the dossier was not yet received).", actor="system",
)
ASSIGNED = _publish(
    "dossier.assigned.v1", "in_review", {"assignee": fields.String(required=True)},
    {"assignee": "specialist-03", "seq": 2}, "2 -> 4: a specialist handles the dossier.", actor="leader-01",
)
APPROVAL_REQUESTED = _publish(
    "dossier.approval_requested.v1", "in_review", {"summary": fields.String(**_REQUIRED_TEXT)},
    {"summary": "Đủ điều kiện cấp giấy khai sinh", "seq": 3}, "Stays 4: the specialist asks the leader to sign.",
    actor="specialist-03",
)
APPROVED = _publish(
    "dossier.approved.v1", "in_review", {}, {"seq": 4}, "Stays 4: the leader signed; the result may be issued.",
    actor="leader-01",
)
REJECTED = _publish(
    "dossier.rejected.v1", "stopped", {"reason": fields.String(**_REQUIRED_TEXT)},
    {"reason": "Không đủ điều kiện theo quy định", "seq": 4}, "4 -> 8: the leader refused to sign.",
    actor="leader-01",
)
STOPPED = _publish(
    "dossier.stopped.v1", "stopped",
    {"reason": fields.String(**_REQUIRED_TEXT),
     "cause": fields.String(required=True,
                            validate=validate.OneOf(("officer", "payment_expired", "supplement_deadline")))},
    {"reason": "Người nộp không đủ điều kiện", "cause": "officer", "seq": 3},
    "4|5|6 -> 8: processing stopped, by the specialist, because the fee was not paid in time, or because a "
    "supplement request's deadline passed.", actor="specialist-03",
)
RESULT_READY = _publish(
    "dossier.result_ready.v1", "result_ready",
    {"result_file_id": fields.String(required=True), "result_sha256": fields.String(required=True),
     "paper_original": fields.Boolean(required=True),
     "delivery_method": fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS)),
     "fee_mode": fields.String(required=True, validate=validate.OneOf(FEE_MODES)),
     "fee_vnd": fields.Integer(**_MONEY)},
    {"result_file_id": "9f1c2e7a4b5d6c8e0f1a2b3c4d5e6f70",
     "result_sha256": "3b2c5f1e0d4a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
     "paper_original": True, "delivery_method": "post", "fee_mode": "after", "fee_vnd": 50000, "seq": 5},
    "4 -> 9: the signed result is issued (electronic file, and whether a paper original exists).",
    actor="specialist-03",
)
RETURNED = _publish(
    "dossier.returned.v1", "returned",
    {"returned_at": fields.AwareDateTime(required=True),
     "via": fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))},
    {"returned_at": "2026-11-30T03:00:00.000Z", "via": "counter", "seq": 6},
    "9 -> 10: the result was handed over at the counter, or postal reported it delivered.",
)
APOLOGY_ISSUED = _publish(
    "dossier.apology_issued.v1", "in_review",
    {"reason": fields.String(**_REQUIRED_TEXT), "old_due_at": fields.AwareDateTime(required=True),
     "new_due_at": fields.AwareDateTime(required=True)},
    {"reason": "Cần xác minh thêm thông tin tại địa phương", "old_due_at": "2026-11-30T02:00:00.000Z",
     "new_due_at": "2026-12-03T10:00:00.000Z", "seq": 4},
    "No status change: apology and new date (form 04), once per dossier, before the old date passed.",
    actor="leader-01",
)
DUE_SOON = _publish(
    "dossier.due_soon.v1", "in_review", {"due_at": fields.AwareDateTime(required=True)},
    {"due_at": "2026-11-30T02:00:00.000Z", "seq": 4},
    "No status change: one working day left before the due date (the officers' deadline watch).", actor="system",
)
OVERDUE = _publish(
    "dossier.overdue.v1", "in_review", {"due_at": fields.AwareDateTime(required=True)},
    {"due_at": "2026-11-30T02:00:00.000Z", "seq": 5},
    "No status change: the due date passed while the clock ran; once per dossier.", actor="system",
)
WITHDRAWN = _publish(
    "dossier.withdrawn.v1", "withdrawn",
    {"reason": fields.String(required=True),
     "from_status": fields.String(required=True, validate=validate.OneOf(
         ("submitted", "received", "in_review", "supplement_requested", "awaiting_payment")))},
    {"reason": "Tôi nộp nhầm thủ tục", "from_status": "received", "seq": 2},
    "1|2|4|5|6 -> 7: the citizen's withdrawal was accepted.", actor="system",
)
WITHDRAWAL_REFUSED = _publish(
    "dossier.withdrawal_refused.v1", "result_ready", {"reason": fields.String(**_REQUIRED_TEXT)},
    {"reason": "Hồ sơ đã có kết quả, không thể rút", "seq": 6},
    "No status change: the withdrawal came too late (a result exists, or the dossier is closed).", actor="system",
)


# ---- consumed ------------------------------------------------------------------------------------------
class _Procedure(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    processing_days = fields.Integer(required=True)
    fee_vnd = fields.Integer(required=True)
    fee_mode = fields.String(load_default="none", validate=validate.OneOf(FEE_MODES))
    level = fields.String(load_default=None, allow_none=True)
    result_is_paper = fields.Boolean(load_default=False)
    documents = fields.List(fields.Dict(), load_default=None, allow_none=True)
    # The field (lĩnh vực) for the national record; absent from events published before intake sent it.
    field_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    field_name = fields.String(load_default=None, allow_none=True)


class _Agency(EventSchema):
    code = fields.String(required=True)
    name = fields.String(load_default=None, allow_none=True)  # the national record's DonViXuLy


class _Applicant(EventSchema):
    type = fields.String(required=True)
    full_name = fields.String(required=True)
    id_number = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True)


class _Delivery(EventSchema):
    method = fields.String(required=True)
    address = fields.Dict(load_default=None, allow_none=True)


class _Uploaded(EventSchema):
    code = fields.String(required=True)
    name = fields.String(load_default=None, allow_none=True)
    upload_id = fields.String(load_default=None, allow_none=True)
    filename = fields.String(load_default=None, allow_none=True)
    sha256 = fields.String(load_default=None, allow_none=True)
    size = fields.Integer(load_default=None, allow_none=True)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True)
    procedure = fields.Nested(_Procedure, required=True)
    agency = fields.Nested(_Agency, required=True)
    applicant = fields.Nested(_Applicant, required=True)
    delivery = fields.Nested(_Delivery, required=True)
    channel = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    documents = fields.List(fields.Nested(_Uploaded), load_default=list)
    filed_by = fields.String(load_default=None, allow_none=True)


CONSUMES.add("dossier.submitted.v1", DossierSubmittedSchema,
             description="opens a case (status 1, or 6 when the fee is paid before processing)")


class DossierSupplementedSchema(EventSchema):
    code = fields.String(required=True)
    documents = fields.List(fields.Nested(_Uploaded), required=True)
    note = fields.String(load_default=None, allow_none=True)
    supplemented_at = fields.AwareDateTime(required=True)


class WithdrawalRequestedSchema(EventSchema):
    code = fields.String(required=True)
    reason = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


class DossierRatedSchema(EventSchema):
    code = fields.String(required=True)
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, allow_none=True)
    rated_at = fields.AwareDateTime(required=True)


class PaymentCompletedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    reference = fields.String(required=True)
    amount_vnd = fields.Integer(required=True)
    paid_at = fields.AwareDateTime(required=True)
    method = fields.String(load_default="online")


class PaymentExpiredSchema(EventSchema):
    dossier_code = fields.String(required=True)
    reference = fields.String(required=True)
    expired_at = fields.AwareDateTime(required=True)


class ShipmentDeliveredSchema(EventSchema):
    dossier_code = fields.String(required=True)
    tracking_no = fields.String(required=True)
    delivered_at = fields.AwareDateTime(required=True)


class ShipmentFailedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    tracking_no = fields.String(required=True)
    reason = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


CONSUMES.add("dossier.supplemented.v1", DossierSupplementedSchema,
             description="resumes the clock: back to the state the supplement request left")
CONSUMES.add("dossier.withdrawal_requested.v1", WithdrawalRequestedSchema,
             description="withdraws the dossier (status 7) or refuses the withdrawal after a result")
CONSUMES.add("dossier.rated.v1", DossierRatedSchema, description="the citizen's rating, for 766 indicator 5.4")
CONSUMES.add("payment.completed.v1", PaymentCompletedSchema,
             description="6 -> 1 for a fee paid before processing; marks a fee paid after processing as paid")
CONSUMES.add("payment.expired.v1", PaymentExpiredSchema, description="6 -> 8: the fee was not paid in time")
CONSUMES.add("shipment.delivered.v1", ShipmentDeliveredSchema, description="9 -> 10 for a result sent by post")
CONSUMES.add("shipment.failed.v1", ShipmentFailedSchema,
             description="stays 9: flags the dossier and audits it for the clerk")


class NotificationSentSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)


class NotificationFailedSchema(NotificationSentSchema):
    reason = fields.String(required=True)


CONSUMES.add("notification.sent.v1", NotificationSentSchema, description="audit: the citizen was told")
CONSUMES.add("notification.failed.v1", NotificationFailedSchema, description="audit: telling the citizen failed")
