"""Event types intake publishes (schemas and examples) and consumes (only the fields it reads)."""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

PUBLISHES = Catalog("intake")
CONSUMES = Catalog("intake")

LEVELS = ("full_online", "partial_online")
FEE_MODES = ("before", "after", "none")
APPLICANT_TYPES = ("citizen", "business", "agency", "organisation")
DELIVERY_METHODS = ("counter", "post")
NOTIFY_CHANNELS = ("sms", "zalo", "email")
CHANNELS = ("online", "counter")

_money = validate.Range(min=0)


class SubmittedProcedureDocumentSchema(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    required = fields.Boolean(required=True)


class FiledDocumentSchema(EventSchema):
    """A document as handed in: the procedure's document code and name, and the uploaded file."""
    code = fields.String(required=True)
    name = fields.String(required=True)
    upload_id = fields.String(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    size = fields.Integer(required=True, validate=validate.Range(min=1))


class SubmittedProcedureSchema(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    processing_days = fields.Integer(required=True, validate=validate.Range(min=0))
    fee_vnd = fields.Integer(required=True, validate=_money)
    fee_mode = fields.String(required=True, validate=validate.OneOf(FEE_MODES))
    result_is_paper = fields.Boolean(required=True)
    # Additive (EVENTS.md): the procedure's document list at filing.
    documents = fields.List(fields.Nested(SubmittedProcedureDocumentSchema), required=True)
    # Additive, optional (events before it lack them): the procedure's field (lĩnh vực), null when unknown.
    field_code = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    field_name = fields.String(allow_none=True, validate=validate.Length(min=1))


class SubmittedAgencySchema(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class SubmittedApplicantSchema(EventSchema):
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    full_name = fields.String(required=True)
    id_number = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^84\d{9}$"))
    email = fields.String(required=True, allow_none=True)
    address = fields.String(required=True)


class SubmittedAddressSchema(EventSchema):
    street = fields.String(required=True)
    commune = fields.String(required=True)
    province = fields.String(required=True)
    recipient_name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True, validate=validate.Regexp(r"^84\d{9}$"))


class SubmittedDeliverySchema(EventSchema):
    method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    address = fields.Nested(SubmittedAddressSchema, required=True, allow_none=True)  # null for counter


class SubmittedFeesSchema(EventSchema):
    procedure_vnd = fields.Integer(required=True, validate=_money)
    postal_vnd = fields.Integer(required=True, validate=_money)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^.+-\d{6}-\d{4,}$"))
    procedure = fields.Nested(SubmittedProcedureSchema, required=True)
    agency = fields.Nested(SubmittedAgencySchema, required=True)
    applicant = fields.Nested(SubmittedApplicantSchema, required=True)
    delivery = fields.Nested(SubmittedDeliverySchema, required=True)
    notify_channels = fields.List(fields.String(validate=validate.OneOf(NOTIFY_CHANNELS)), required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    submitted_at = fields.AwareDateTime(required=True)
    fees = fields.Nested(SubmittedFeesSchema, required=True)
    # Additive (EVENTS.md): what was uploaded, and the clerk who filed at the counter (null online).
    documents = fields.List(fields.Nested(FiledDocumentSchema), required=True)
    filed_by = fields.String(required=True, allow_none=True)


_EXAMPLE_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_EXAMPLE_DOCUMENTS = [
    {"code": "TK_KHAI_SINH", "name": "Tờ khai đăng ký khai sinh (theo mẫu)",
     "upload_id": "3f9a1c0e5b7d4e2f8a6b1c3d5e7f9a0b", "filename": "to-khai.pdf", "sha256": _EXAMPLE_SHA, "size": 48213},
    {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh",
     "upload_id": "b0a9f7e5d3c1b6a8f2e4d7b5e0c1a9f3", "filename": "giay-chung-sinh.jpg", "sha256": _EXAMPLE_SHA,
     "size": 201554},
]

DOSSIER_SUBMITTED_EXAMPLE = {
    "code": "000.00.06.H56-261124-0001",
    "procedure": {"code": "1.001193.H56", "name": "Đăng ký khai sinh", "level": "full_online",
                  "processing_days": 1, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True,
                  "documents": [{"code": "TK_KHAI_SINH", "name": "Tờ khai đăng ký khai sinh (theo mẫu)", "required": True},
                                {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh hoặc giấy tờ thay thế Giấy chứng sinh", "required": True}],
                  "field_code": "HO_TICH", "field_name": "Hộ tịch"},
    "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                 "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh", "phone": "84912345678"}},
    "notify_channels": ["sms"],
    "channel": "online",
    "submitted_at": "2026-11-24T02:00:00.000Z",
    "fees": {"procedure_vnd": 0, "postal_vnd": 10000},
    "documents": _EXAMPLE_DOCUMENTS,
    "filed_by": None,
}


DOSSIER_SUBMITTED = PUBLISHES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    DOSSIER_SUBMITTED_EXAMPLE,
    (
        "A citizen, business or clerk filed a dossier (national status 1, 'Mới đăng ký'). Published once per "
        "dossier, in the filing transaction; subject = dossier code. Carries what every consumer needs to act "
        "without calling intake: the procedure as it stood at filing (deadline, fee and fee mode, paper result), "
        "the receiving agency, the applicant (phone in 84… form or null, email or null), delivery (address null "
        "for counter), the chosen notification channels, the channel (online | counter) and the fees quoted at "
        "filing (procedure fee, and the citizen's price for return by post). Additive: `procedure.documents` (the "
        "procedure's document list at filing), `documents` (each uploaded file: document code and name, upload id, "
        "file name, SHA-256, size), `filed_by` (the clerk's officer `sub` for channel=counter, else null) and "
        "`procedure.field_code` / `procedure.field_name` (the procedure's field, lĩnh vực, as the national catalogue "
        "names it: MALINHVUC / TENLINHVUC; null when unknown, absent from events published before them)."
    ),
)


class SupplementedSchema(EventSchema):
    code = fields.String(required=True)
    agency_code = fields.String(required=True)
    documents = fields.List(fields.Nested(FiledDocumentSchema), required=True, validate=validate.Length(min=1))
    note = fields.String(required=True, allow_none=True)
    supplemented_at = fields.AwareDateTime(required=True)


DOSSIER_SUPPLEMENTED = PUBLISHES.add(
    "dossier.supplemented.v1",
    SupplementedSchema,
    {"code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "documents": _EXAMPLE_DOCUMENTS[1:],
     "note": "Bổ sung bản chụp rõ nét giấy chứng sinh", "supplemented_at": "2026-11-25T03:15:00.000Z"},
    (
        "The citizen answered the open supplement request (form 02) with new uploaded documents and an optional "
        "note; once per request. Processing resumes the dossier (dossier.supplement_received)."
    ),
)


class WithdrawalRequestedSchema(EventSchema):
    code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reason = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


DOSSIER_WITHDRAWAL_REQUESTED = PUBLISHES.add(
    "dossier.withdrawal_requested.v1",
    WithdrawalRequestedSchema,
    {"code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "reason": "Đã nộp nhầm thủ tục",
     "requested_at": "2026-11-25T04:00:00.000Z"},
    (
        "The citizen asks to withdraw the dossier (status 1, 2, 4, 5 or 6). Processing answers with "
        "dossier.withdrawn or dossier.withdrawal_refused; one request is pending at a time."
    ),
)


class RatedSchema(EventSchema):
    code = fields.String(required=True)
    agency_code = fields.String(required=True)
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(required=True, allow_none=True)
    rated_at = fields.AwareDateTime(required=True)


DOSSIER_RATED = PUBLISHES.add(
    "dossier.rated.v1",
    RatedSchema,
    {"code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "score": 5,
     "comment": "Cán bộ hướng dẫn tận tình", "rated_at": "2026-11-28T09:30:00.000Z"},
    (
        "The citizen rated the handling of a returned dossier (1-5, optional comment); once per dossier. "
        "Feeds the satisfaction indicator 5.4 of Decision 766."
    ),
)


# ---- consumed: other services' news of a dossier, for the citizen's view ----------------------------------
# Lengths are those of intake's columns: a value that cannot be stored is dead-lettered as malformed at
# once, instead of failing the insert on every retry.
_DOSSIER_CODE = validate.Length(min=1, max=40)


class PaymentRequestedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    amount_vnd = fields.Integer(required=True, strict=True, validate=_money)
    qr_payload = fields.String(required=True, validate=validate.Length(min=1))
    expires_at = fields.AwareDateTime(required=True)


class ShipmentCreatedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    # Not an enum: a service intake does not know is stored and kept out of the view, not dead-lettered.
    service = fields.String(required=True, validate=validate.Length(min=1, max=20))
    status = fields.String(required=True, validate=validate.Length(min=1, max=30))


PAYMENT_REQUESTED = CONSUMES.add(
    "payment.requested.v1",
    PaymentRequestedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "reference": "MCK7QX2MZP4A",
        "amount_vnd": 50000,
        "qr_payload": (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
            "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
        ),
        "expires_at": "2026-11-27T02:00:00.000Z",
    },
    description="shows the citizen the fee to pay and its QR (payment: pending) and notes the request in the timeline",
)

SHIPMENT_CREATED = CONSUMES.add(
    "shipment.created.v1",
    ShipmentCreatedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "tracking_no": "MC000000014VN",
        "service": "return",
        "status": "awaiting_result",
    },
    description="shows the citizen the tracking number and status of the return of the result by post (delivery)",
)


# ---- consumed: processing's dossier events (EVENTS.md BASE + the fields intake reads) -------------------
STATUS_NAMES = ("submitted", "received", "refused", "in_review", "supplement_requested", "awaiting_payment",
                "withdrawn", "stopped", "result_ready", "returned")
_CODE = "000.00.06.H56-261124-0001"


class ProcessingBaseSchema(EventSchema):
    code = fields.String(required=True, validate=_DOSSIER_CODE)
    status = fields.String(required=True, validate=validate.OneOf(STATUS_NAMES))
    status_code = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    at = fields.AwareDateTime(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


def _base(status: str, status_code: int, seq: int, at: str, **extra) -> dict:
    return {"code": _CODE, "agency_code": "000.00.06.H56", "procedure_code": "1.001193.H56", "status": status,
            "status_code": status_code, "at": at, "seq": seq, "actor": "canbo.motcua.01", **extra}


def _schema(name: str, **extra_fields) -> type[EventSchema]:
    return type(name, (ProcessingBaseSchema,), extra_fields)


_REASON = {"reason": fields.String(required=True, validate=validate.Length(min=1))}
_DUE = {"due_at": fields.AwareDateTime(required=True)}

# type -> (schema, example, what intake does with it)
_PROCESSING = {
    "dossier.payment_required.v1": (
        _schema("PaymentRequiredSchema", amount_vnd=fields.Integer(required=True, strict=True, validate=_money)),
        _base("awaiting_payment", 6, 1, "2026-11-24T02:00:01.000Z", amount_vnd=50000),
        "status awaiting_payment and a timeline entry with the fee"),
    "dossier.payment_received.v1": (
        _schema("PaymentReceivedSchema"),
        _base("submitted", 1, 2, "2026-11-24T02:30:00.000Z", reference="MCK7QX2MZP4A"),
        "status back to submitted, a timeline entry"),
    "dossier.received.v1": (
        _schema("ReceivedSchema", received_at=fields.AwareDateTime(required=True), **_DUE),
        _base("received", 2, 3, "2026-11-24T03:00:00.000Z", received_at="2026-11-24T03:00:00.000Z",
              due_at="2026-11-25T03:00:00.000Z", processing_days=1, received_by="canbo.motcua.01"),
        "status received, received_at and due_at (the slip becomes available), a timeline entry"),
    "dossier.refused.v1": (
        _schema("RefusedSchema", **_REASON),
        _base("refused", 3, 3, "2026-11-24T03:00:00.000Z", reason="Hồ sơ không thuộc thẩm quyền", cause="officer"),
        "status refused, completed_at, the reason in the timeline"),
    "dossier.supplement_requested.v1": (
        _schema("SupplementRequestedSchema", **_REASON,
                documents=fields.List(fields.Nested(type("RequestedDocumentSchema", (EventSchema,), {
                    "code": fields.String(required=True, validate=validate.Length(min=1, max=40)),
                    "name": fields.String(required=True)})), required=True),
                deadline=fields.Date(required=True),
                request_no=fields.Integer(required=True, strict=True, validate=validate.Range(min=1))),
        _base("supplement_requested", 5, 4, "2026-11-24T04:00:00.000Z", reason="Giấy chứng sinh chụp mờ",
              documents=[{"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh"}], deadline="2026-12-01",
              request_no=1, from_status="received"),
        "opens the supplement request the view shows (and the citizen may answer), a timeline entry"),
    "dossier.supplement_received.v1": (
        _schema("SupplementReceivedSchema", due_at=fields.AwareDateTime(required=True, allow_none=True)),
        _base("received", 2, 5, "2026-11-25T03:20:00.000Z", due_at="2026-11-26T02:20:00.000Z",
              resumed_at="2026-11-25T03:20:00.000Z"),
        "closes the supplement request, the status it returned to and the moved due date"),
    "dossier.assigned.v1": (
        _schema("AssignedSchema"),
        _base("in_review", 4, 6, "2026-11-25T04:00:00.000Z", assignee="chuyenvien.tuphap.02"),
        "status in_review, a timeline entry (the assignee is not shown)"),
    "dossier.approval_requested.v1": (
        _schema("ApprovalRequestedSchema"),
        _base("in_review", 4, 7, "2026-11-25T07:00:00.000Z", summary="Đủ điều kiện cấp"),
        "a timeline entry (the summary is internal and not shown)"),
    "dossier.approved.v1": (
        _schema("ApprovedSchema"), _base("in_review", 4, 8, "2026-11-25T08:00:00.000Z"), "a timeline entry"),
    "dossier.rejected.v1": (
        _schema("RejectedSchema", **_REASON),
        _base("stopped", 8, 8, "2026-11-25T08:00:00.000Z", reason="Không đủ điều kiện theo quy định"),
        "status stopped, completed_at, the reason in the timeline"),
    "dossier.stopped.v1": (
        _schema("StoppedSchema", **_REASON),
        _base("stopped", 8, 8, "2026-11-25T08:00:00.000Z", reason="Quá hạn nộp phí", cause="payment_expired"),
        "status stopped, completed_at, the reason in the timeline"),
    "dossier.result_ready.v1": (
        _schema("ResultReadySchema", delivery_method=fields.String(
            required=True, validate=validate.OneOf(DELIVERY_METHODS)),
            result_file_id=fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32,64}$")),
            result_sha256=fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$")),
            paper_original=fields.Boolean(required=True)),
        _base("result_ready", 9, 9, "2026-11-25T09:00:00.000Z", result_file_id="7c1e0f3a9b2d4c6e8f0a1b3c5d7e9f1a",
              result_sha256=_EXAMPLE_SHA, paper_original=True, delivery_method="post", fee_mode="none", fee_vnd=0),
        "status result_ready, completed_at, a timeline entry saying where the result comes back; the result file's "
        "id, SHA-256 and paper flag, so the citizen can download it (GET /v1/dossiers/{code}/result.pdf)"),
    "dossier.returned.v1": (
        _schema("ReturnedSchema", returned_at=fields.AwareDateTime(required=True),
                via=fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))),
        _base("returned", 10, 10, "2026-11-26T02:00:00.000Z", returned_at="2026-11-26T02:00:00.000Z", via="post"),
        "status returned (rating becomes possible), a timeline entry"),
    "dossier.apology_issued.v1": (
        _schema("ApologyIssuedSchema", **_REASON, new_due_at=fields.AwareDateTime(required=True)),
        _base("in_review", 4, 9, "2026-11-25T01:00:00.000Z", reason="Cần xác minh thêm thông tin",
              old_due_at="2026-11-25T03:00:00.000Z", new_due_at="2026-11-27T03:00:00.000Z"),
        "the new due date, the apology (form 04) in the timeline"),
    "dossier.due_soon.v1": (
        _schema("DueSoonSchema", **_DUE),
        _base("in_review", 4, 9, "2026-11-24T03:00:00.000Z", due_at="2026-11-25T03:00:00.000Z"),
        "a timeline entry"),
    "dossier.overdue.v1": (
        _schema("OverdueSchema", **_DUE),
        _base("in_review", 4, 9, "2026-11-25T03:00:00.000Z", due_at="2026-11-25T03:00:00.000Z"),
        "a timeline entry (the view's `overdue` is derived at read time, never stored)"),
    "dossier.withdrawn.v1": (
        _schema("WithdrawnSchema", **_REASON),
        _base("withdrawn", 7, 6, "2026-11-25T05:00:00.000Z", reason="Đã nộp nhầm thủ tục", from_status="received"),
        "status withdrawn, completed_at, the citizen's withdrawal request accepted"),
    "dossier.withdrawal_refused.v1": (
        _schema("WithdrawalRefusedSchema", **_REASON),
        _base("in_review", 4, 7, "2026-11-25T05:00:00.000Z", reason="Kết quả đã được ký duyệt"),
        "the citizen's withdrawal request refused, with the reason"),
}
PROCESSING_EVENTS = {name: CONSUMES.add(name, schema, example, f"the citizen's view: {what}")
                     for name, (schema, example, what) in _PROCESSING.items()}


# ---- consumed: payment.* and shipment.* beyond the request / creation ------------------------------------
_REFERENCE = validate.Length(min=1, max=40)
_TRACKING = validate.Length(min=1, max=40)


def _payment_schema(name: str, **extra_fields) -> type[EventSchema]:
    return type(name, (EventSchema,), {"dossier_code": fields.String(required=True, validate=_DOSSIER_CODE),
                                       "reference": fields.String(required=True, validate=_REFERENCE), **extra_fields})


def _shipment_schema(name: str, **extra_fields) -> type[EventSchema]:
    return type(name, (EventSchema,), {"dossier_code": fields.String(required=True, validate=_DOSSIER_CODE),
                                       "tracking_no": fields.String(required=True, validate=_TRACKING), **extra_fields})


_PAY = {"dossier_code": _CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A"}
_SHIP = {"dossier_code": _CODE, "agency_code": "000.00.06.H56", "tracking_no": "MC000000014VN"}
_PAYMENTS_AND_SHIPMENTS = {
    "payment.completed.v1": (
        _payment_schema("PaymentCompletedSchema", paid_at=fields.AwareDateTime(required=True)),
        {**_PAY, "amount_vnd": 50000, "paid_at": "2026-11-24T02:25:00.000Z", "bank_txn_id": "FT26328123456",
         "method": "online"},
        "payment: paid, with paid_at"),
    "payment.failed.v1": (
        _payment_schema("PaymentFailedSchema", at=fields.AwareDateTime(required=True)),
        {**_PAY, "result_code": "51", "reason": "Tài khoản không đủ số dư", "at": "2026-11-24T02:20:00.000Z"},
        "a timeline note; the order stays pending"),
    "payment.expired.v1": (
        _payment_schema("PaymentExpiredSchema", expired_at=fields.AwareDateTime(required=True)),
        {**_PAY, "amount_vnd": 50000, "expired_at": "2026-11-27T02:00:00.000Z"},
        "payment: expired"),
    "payment.cancelled.v1": (
        _payment_schema("PaymentCancelledSchema", cancelled_at=fields.AwareDateTime(required=True)),
        {**_PAY, "reason": "Hồ sơ đã rút", "cancelled_at": "2026-11-25T05:00:01.000Z"},
        "payment: cancelled"),
    "payment.refunded.v1": (
        _payment_schema("PaymentRefundedSchema", refunded_at=fields.AwareDateTime(required=True)),
        {**_PAY, "amount_vnd": 50000, "refund_id": "RF0001", "reason": "Hồ sơ không được tiếp nhận",
         "refunded_at": "2026-11-25T05:00:02.000Z"},
        "payment: refunded, with refunded_at"),
    "shipment.dispatched.v1": (
        _shipment_schema("ShipmentDispatchedSchema", dispatched_at=fields.AwareDateTime(required=True)),
        {**_SHIP, "service": "return", "cod_amount_vnd": 10000, "dispatched_at": "2026-11-25T09:05:00.000Z"},
        "delivery: dispatched"),
    "shipment.progressed.v1": (
        _shipment_schema("ShipmentProgressedSchema", at=fields.AwareDateTime(required=True),
                         status=fields.String(required=True, validate=validate.Length(min=1, max=30))),
        {**_SHIP, "status": "in_transit", "at": "2026-11-25T12:00:00.000Z", "note": None},
        "delivery: the operator's latest status"),
    "shipment.delivered.v1": (
        _shipment_schema("ShipmentDeliveredSchema", delivered_at=fields.AwareDateTime(required=True)),
        {**_SHIP, "delivered_at": "2026-11-26T02:00:00.000Z"},
        "delivery: delivered"),
    "shipment.failed.v1": (
        _shipment_schema("ShipmentFailedSchema", at=fields.AwareDateTime(required=True),
                         reason=fields.String(required=True)),
        {**_SHIP, "status": "returned_to_sender", "reason": "Không liên lạc được người nhận",
         "at": "2026-11-27T02:00:00.000Z"},
        "delivery: returned_to_sender, with the reason in the timeline"),
    "shipment.cancelled.v1": (
        _shipment_schema("ShipmentCancelledSchema", cancelled_at=fields.AwareDateTime(required=True)),
        {**_SHIP, "reason": "Hồ sơ đã rút", "cancelled_at": "2026-11-25T05:00:03.000Z"},
        "delivery: cancelled"),
}
PAYMENT_AND_SHIPMENT_EVENTS = {name: CONSUMES.add(name, schema, example, f"the citizen's view: {what}")
                               for name, (schema, example, what) in _PAYMENTS_AND_SHIPMENTS.items()}
