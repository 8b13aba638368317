"""Event types notify consumes (only the fields it reads) and publishes (with schemas and examples)."""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("notify")
PUBLISHES = Catalog("notify")


class _Procedure(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class _Agency(EventSchema):
    code = fields.String(required=True)
    name = fields.String(load_default="", allow_none=True)


class _Applicant(EventSchema):
    full_name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True)
    procedure = fields.Nested(_Procedure, required=True)
    agency = fields.Nested(_Agency, required=True)
    applicant = fields.Nested(_Applicant, required=True)
    # Unknown channel names are kept here and skipped later: a channel intake adds tomorrow must not
    # dead-letter today's event.
    notify_channels = fields.List(fields.String(), load_default=list)
    channel = fields.String(load_default="online")
    submitted_at = fields.AwareDateTime(required=True)


CONSUMES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    example={
        "code": "000.00.06.H56-261124-0001",
        "procedure": {"code": "1.000948.H38", "name": "Đăng ký khai sinh", "level": "full_online",
                      "processing_days": 3, "fee_vnd": 0, "fee_mode": "none", "result_is_paper": True},
        "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
        "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                      "phone": "84912345678", "email": "anh@example.vn", "address": "12 Trần Phú, Phúc Yên"},
        "delivery": {"method": "counter", "address": None},
        "notify_channels": ["sms", "email"],
        "channel": "online",
        "submitted_at": "2026-11-24T02:00:00.000Z",
        "fees": {"procedure_vnd": 0, "postal_vnd": 0},
    },
    description="renders and stores one message per channel the applicant chose and can receive",
)


class PaymentRequestedSchema(EventSchema):
    # Sized like the messages' own column, so an over-long code is dead-lettered as malformed rather
    # than failing the insert on every retry.
    dossier_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=25))
    amount_vnd = fields.Integer(required=True, validate=validate.Range(min=1))
    expires_at = fields.AwareDateTime(required=True)
    # qr_payload is not read: the message links to intake's rendering of it (an SMS cannot carry an image).


CONSUMES.add(
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
    description="tells the applicant, on the channels they chose at filing, the fee, the reference, the "
                "deadline and the link to the payment QR",
)

# ---- processing's dossier events (EVENTS.md): the BASE every one carries, then each type's own fields ----
_CODE = validate.Length(min=1, max=40)
STATUSES = ("submitted", "received", "refused", "in_review", "supplement_requested", "awaiting_payment",
            "withdrawn", "stopped", "result_ready", "returned")


class _DossierBase(EventSchema):
    code = fields.String(required=True, validate=_CODE)
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    procedure_code = fields.String(load_default=None, allow_none=True)
    # Unknown names load (a status added tomorrow must not dead-letter today's event); rules ignore them.
    status = fields.String(required=True)
    seq = fields.Integer(required=True, validate=validate.Range(min=1))
    at = fields.AwareDateTime(required=True)


class _Document(EventSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)


def _dossier_schema(name: str, **extra) -> type[EventSchema]:
    return type(name, (_DossierBase,), extra)


_BASE_EXAMPLE = {"code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56",
                 "procedure_code": "1.000948.H38", "actor": "clerk-1"}


def _example(status: str, status_code: int, seq: int, at: str, **extra) -> dict:
    return {**_BASE_EXAMPLE, "status": status, "status_code": status_code, "seq": seq, "at": at, **extra}


_REASON = fields.String(required=True)
# type -> (schema fields, example, what notify does with it)
_DOSSIER_EVENTS = {
    "dossier.received.v1": (
        dict(received_at=fields.AwareDateTime(required=True), due_at=fields.AwareDateTime(required=True),
             processing_days=fields.Integer(load_default=None, allow_none=True)),
        _example("received", 2, 1, "2026-11-24T03:00:00.000Z", received_at="2026-11-24T03:00:00.000Z",
                 due_at="2026-11-27T10:00:00.000Z", processing_days=3, received_by="clerk-1"),
        "tells the applicant the dossier was received, with the date the result is due",
    ),
    "dossier.refused.v1": (
        dict(reason=_REASON, cause=fields.String(load_default="officer")),
        _example("refused", 3, 1, "2026-11-24T03:00:00.000Z", reason="Hồ sơ thiếu bản sao giấy chứng sinh",
                 cause="officer"),
        "tells the applicant the dossier was refused at reception, and why",
    ),
    "dossier.supplement_requested.v1": (
        dict(reason=_REASON, documents=fields.List(fields.Nested(_Document), load_default=list),
             deadline=fields.Date(required=True), request_no=fields.Integer(load_default=1)),
        _example("supplement_requested", 5, 2, "2026-11-25T02:00:00.000Z",
                 reason="Bản sao giấy chứng sinh bị mờ, không đọc được",
                 documents=[{"code": "GCS", "name": "Giấy chứng sinh"}], deadline="2026-12-02", request_no=1,
                 from_status="received"),
        "tells the applicant what to supplement and by when (one message per request)",
    ),
    "dossier.assigned.v1": (
        dict(),
        _example("in_review", 4, 2, "2026-11-24T04:00:00.000Z", assignee="specialist-1"),
        "tells the applicant the dossier is being reviewed",
    ),
    "dossier.result_ready.v1": (
        dict(delivery_method=fields.String(load_default="counter"), fee_mode=fields.String(load_default="none"),
             fee_vnd=fields.Integer(load_default=0)),
        _example("result_ready", 9, 5, "2026-11-26T08:00:00.000Z", result_file_id="9f2c4e1a0b7d4c3e8a6f5b4d3c2e1f0a",
                 result_sha256="0" * 64, paper_original=True, delivery_method="counter", fee_mode="none", fee_vnd=0),
        "tells the applicant the result is ready: come to the counter, or it goes by post",
    ),
    "dossier.returned.v1": (
        dict(returned_at=fields.AwareDateTime(required=True), via=fields.String(load_default="counter")),
        _example("returned", 10, 6, "2026-11-27T02:00:00.000Z", returned_at="2026-11-27T02:00:00.000Z", via="counter"),
        "tells the applicant the result was handed over at the counter (by post: shipment.delivered does)",
    ),
    "dossier.stopped.v1": (
        dict(reason=_REASON, cause=fields.String(load_default="officer")),
        _example("stopped", 8, 4, "2026-11-26T02:00:00.000Z", reason="Người yêu cầu không đủ điều kiện theo quy định",
                 cause="officer"),
        "tells the applicant processing was stopped, and why",
    ),
    "dossier.rejected.v1": (
        dict(reason=_REASON),
        _example("stopped", 8, 4, "2026-11-26T02:00:00.000Z", reason="Nội dung đăng ký không khớp với giấy chứng sinh"),
        "tells the applicant the leader rejected the dossier, and why",
    ),
    "dossier.apology_issued.v1": (
        dict(reason=_REASON, old_due_at=fields.AwareDateTime(required=True),
             new_due_at=fields.AwareDateTime(required=True)),
        _example("in_review", 4, 3, "2026-11-26T02:00:00.000Z", reason="Cần xác minh thêm thông tin tại địa phương",
                 old_due_at="2026-11-27T10:00:00.000Z", new_due_at="2026-12-02T10:00:00.000Z", actor="leader-1"),
        "apologises with the new date; the email carries the apology slip (form 04) as a PDF",
    ),
    "dossier.withdrawn.v1": (
        dict(from_status=fields.String(load_default=None, allow_none=True)),
        _example("withdrawn", 7, 3, "2026-11-25T02:00:00.000Z", reason="Tôi nộp nhầm thủ tục", from_status="received",
                 actor="system"),
        "confirms the withdrawal the applicant asked for (their reason is not repeated back)",
    ),
    "dossier.overdue.v1": (
        dict(due_at=fields.AwareDateTime(required=True)),
        _example("in_review", 4, 4, "2026-11-27T10:00:00.000Z", due_at="2026-11-27T10:00:00.000Z", actor="system"),
        "tells the applicant the dossier is late; skipped once the result is ready or the dossier closed",
    ),
}

for _name, (_fields, _example_data, _description) in _DOSSIER_EVENTS.items():
    CONSUMES.add(_name, _dossier_schema(_name.replace(".", "_") + "_schema", **_fields), example=_example_data,
                 description=_description)


# ---- payment's and postal's events: keyed by dossier_code, no seq ----
class _PaymentBase(EventSchema):
    dossier_code = fields.String(required=True, validate=_CODE)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))


class PaymentCompletedSchema(_PaymentBase):
    amount_vnd = fields.Integer(required=True)
    paid_at = fields.AwareDateTime(required=True)


class PaymentExpiredSchema(_PaymentBase):
    amount_vnd = fields.Integer(required=True)
    expired_at = fields.AwareDateTime(required=True)


class PaymentRefundedSchema(_PaymentBase):
    amount_vnd = fields.Integer(required=True)
    refund_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    refunded_at = fields.AwareDateTime(required=True)


_PAY = {"dossier_code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A"}
CONSUMES.add("payment.completed.v1", PaymentCompletedSchema, example={
    **_PAY, "amount_vnd": 50000, "paid_at": "2026-11-24T02:05:00.000Z", "bank_txn_id": "FT26328000123",
    "method": "online"}, description="confirms the fee was paid")
CONSUMES.add("payment.expired.v1", PaymentExpiredSchema, example={
    **_PAY, "amount_vnd": 50000, "expired_at": "2026-11-27T02:00:00.000Z"},
    description="tells the applicant the payment deadline passed; skipped once the dossier is closed")
CONSUMES.add("payment.refunded.v1", PaymentRefundedSchema, example={
    **_PAY, "amount_vnd": 50000, "refund_id": "RF7QX2MZP4A1", "reason": "Hồ sơ bị từ chối tiếp nhận",
    "refunded_at": "2026-11-25T02:00:00.000Z"}, description="tells the applicant the fee was refunded")


class _ShipmentBase(EventSchema):
    dossier_code = fields.String(required=True, validate=_CODE)
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ShipmentDispatchedSchema(_ShipmentBase):
    cod_amount_vnd = fields.Integer(load_default=0)
    dispatched_at = fields.AwareDateTime(required=True)


class ShipmentDeliveredSchema(_ShipmentBase):
    delivered_at = fields.AwareDateTime(required=True)


class ShipmentFailedSchema(_ShipmentBase):
    reason = fields.String(load_default="", allow_none=True)
    at = fields.AwareDateTime(required=True)


_SHIP = {"dossier_code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "tracking_no": "EB123456789VN"}
CONSUMES.add("shipment.dispatched.v1", ShipmentDispatchedSchema, example={
    **_SHIP, "service": "return", "cod_amount_vnd": 0, "dispatched_at": "2026-11-26T09:00:00.000Z"},
    description="tells the applicant the result left by post, with the tracking number")
CONSUMES.add("shipment.delivered.v1", ShipmentDeliveredSchema, example={
    **_SHIP, "delivered_at": "2026-11-27T04:00:00.000Z"}, description="tells the applicant the result was delivered")
CONSUMES.add("shipment.failed.v1", ShipmentFailedSchema, example={
    **_SHIP, "status": "returned_to_sender", "reason": "Không liên lạc được với người nhận",
    "at": "2026-11-28T04:00:00.000Z"}, description="tells the applicant delivery failed and the result went back")

_CHANNEL = validate.OneOf(("sms", "zalo", "email"))


class NotificationSentSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True, validate=_CHANNEL)
    attempts = fields.Integer(required=True)
    sent_at = fields.String(required=True)


class NotificationFailedSchema(EventSchema):
    message_id = fields.String(required=True)
    dossier_code = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True, validate=_CHANNEL)
    attempts = fields.Integer(required=True)
    reason = fields.String(required=True)
    failed_at = fields.String(required=True)


PUBLISHES.add(
    "notification.sent.v1",
    NotificationSentSchema,
    example={
        "message_id": "5f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a11",
        "dossier_code": "000.00.06.H56-261124-0001",
        "kind": "dossier.submitted",
        "channel": "sms",
        "attempts": 1,
        "sent_at": "2026-11-24T02:00:00.041Z",
    },
    description="the gateway (or SMTP server) accepted the message; delivery is not yet confirmed",
)
PUBLISHES.add(
    "notification.failed.v1",
    NotificationFailedSchema,
    example={
        "message_id": "5f0c6f3e-2b7a-4d43-9a51-0d3c1f6b2a11",
        "dossier_code": "000.00.06.H56-261124-0001",
        "kind": "dossier.submitted",
        "channel": "sms",
        "attempts": 5,
        "reason": "gave up after 5 attempts: HTTP 503",
        "failed_at": "2026-11-24T02:01:02.500Z",
    },
    description="the message will not reach the citizen: refused (4xx), retries exhausted, or a failed receipt",
)
